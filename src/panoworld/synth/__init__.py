"""Procedural 360-degree worlds with exact ground truth (RGB, metric depth, poses, 2-D/3-D tracks, captions).

    from panoworld.synth import make_scene, render_clip, write_split
    scene = make_scene(7, kind="indoor", trajectory="walk")
    clip = render_clip(scene, frames=16, size=(128, 256))
    write_split("out/synth", clips=50, frames=93, size=(512, 1024), seed=0)

See docs/synth.md for the dataset layout (every file, shape, dtype and unit).
"""

from __future__ import annotations

import random

from .captions import make_captions
from .dataset import plan_split, write_split
from .render import ClipRenderer, RenderedClip, Tracks, render_clip
from .scene import TRAJECTORY_KINDS, Decal, Light, Material, Motion, Prim, Scene, Trajectory

__all__ = [
    "SCENE_KINDS",
    "TRAJECTORY_KINDS",
    "ClipRenderer",
    "Decal",
    "Light",
    "Material",
    "Motion",
    "Prim",
    "RenderedClip",
    "Scene",
    "Tracks",
    "Trajectory",
    "make_captions",
    "make_scene",
    "plan_split",
    "render_clip",
    "write_split",
]

SCENE_KINDS = ("indoor", "outdoor")


def make_scene(seed: int, kind: str = "indoor", trajectory: str | None = None) -> Scene:
    """A procedural world from an integer seed (same seed -> same scene).

    Args:
        seed: any integer.
        kind: ``indoor`` (a furnished room) or ``outdoor`` (a street).
        trajectory: camera path kind, one of ``static``, ``rotate``, ``walk``, ``walk_rotate``;
            None picks one from the seed.
    """
    if kind not in SCENE_KINDS:
        raise ValueError(f"unknown scene kind {kind!r}; expected one of {SCENE_KINDS}")
    rng = random.Random(f"panoworld-synth:{kind}:{int(seed)}")
    if trajectory is None:
        trajectory = rng.choice(TRAJECTORY_KINDS)
    if trajectory not in TRAJECTORY_KINDS:
        raise ValueError(f"unknown trajectory {trajectory!r}; expected one of {TRAJECTORY_KINDS}")
    if kind == "indoor":
        from .indoor import make_room

        return make_room(int(seed), trajectory, rng)
    from .outdoor import make_street

    return make_street(int(seed), trajectory, rng)
