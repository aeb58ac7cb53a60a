"""Captions: three lengths in the reference's style, the long one laid out around the camera."""

from __future__ import annotations

from panoworld.synth import make_captions, make_scene
from panoworld.synth.captions import sector_of


def test_captions_have_reference_lengths_and_layout():
    for seed in range(6):
        for kind in ("indoor", "outdoor"):
            caps = make_captions(make_scene(seed, kind))
            words = {k: len(v.split()) for k, v in caps.items()}
            assert 3 <= words["short"] <= 25 and 20 <= words["medium"] <= 90 and 60 <= words["long"] <= 180, (caps, words)
            long = caps["long"]
            positions = [long.index(s) for s in ("In the front", "To the right", "Behind the camera", "On the left")]
            assert positions == sorted(positions)
            assert not long.lower().startswith(("the video", "360"))


def test_sectors_follow_the_yaw_convention():
    cam = (0.0, -1.5, 0.0)
    assert sector_of((0.0, 0.0, 5.0), cam, 0.0) == "front"
    assert sector_of((5.0, 0.0, 0.0), cam, 0.0) == "right"
    assert sector_of((-5.0, 0.0, 0.0), cam, 0.0) == "left"
    assert sector_of((0.0, 0.0, -5.0), cam, 0.0) == "behind"
    assert sector_of((5.0, 0.0, 0.0), cam, 90.0) == "front"
