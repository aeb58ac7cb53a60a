"""Long videos: extension rounds, frame bookkeeping at the junctions, streaming, determinism, flat memory."""

from __future__ import annotations

import gc
import json
import math

import numpy as np
import pytest
import torch

from panoworld.errors import InputError
from panoworld.pipelines import GenerationConfig, PanoWorldPipeline
from panoworld.pipelines.extend import CollectFrames, FrameSink, FrameStitcher, extension_conditioning
from panoworld.pipelines.timeline import ExtensionPlan, round_seed

from .conftest import tiny_config_for_tests
from .index_toy import STEP, IndexTransformer, IndexVAE, frame_index

components = pytest.importorskip("panoworld.models.components")
IMAGE = torch.rand(3, 40, 60, generator=torch.Generator().manual_seed(0))


@pytest.fixture(scope="module")
def toy_pipeline():
    return PanoWorldPipeline(IndexTransformer(2), IndexVAE(), components.TextEncoder.tiny(),
                             components.ImageEncoder.tiny())


def test_plan_places_rounds_on_the_output_clock():
    plan = ExtensionPlan.build(93, 1, rounds=4)
    assert (plan.stride, plan.overlap, plan.total_frames, plan.junctions()) == (92, 1, 369, [92, 184, 276])
    two = ExtensionPlan.build(9, 2, rounds=3)
    assert (two.stride, two.overlap, two.total_frames) == (4, 5, 17)
    twenty = ExtensionPlan.build(93, 1, seconds=20.0, fps=16.0)
    assert (twenty.rounds, twenty.total_frames) == (4, 320)
    assert ExtensionPlan.build(93, 1, seconds=2.0).rounds == 1
    seeds = [round_seed(7, r) for r in range(4)]
    assert seeds[0] == 7 and len(set(seeds)) == 4 and seeds[1] != 8  # not the reference's seed + round
    assert seeds == [round_seed(7, r) for r in range(4)] and all(0 <= s < 2**32 for s in seeds)


@pytest.mark.parametrize("settings, frames", [(dict(rounds=3), 25), (dict(rounds=3, extend_frames=2), 17),
                                              (dict(rounds=3, chained=True), 25), (dict(seconds=1.25), 20)])
def test_every_frame_appears_once_in_order(toy_pipeline, settings, frames):
    cfg = tiny_config_for_tests(num_frames=9, **settings)
    plan = cfg.extension_plan()
    out = toy_pipeline(IMAGE, "a room", "a panoramic room", cfg)
    assert out.video.shape[0] == plan.total_frames == frames
    torch.testing.assert_close(frame_index(out.video), torch.arange(plan.total_frames, dtype=torch.float32),
                               atol=1e-3, rtol=0)
    # depth: every frame, from the latent group that holds it (group ends at 4 * ceil(g / 4))
    ends = 4 * torch.ceil(torch.arange(plan.total_frames) / 4.0)
    torch.testing.assert_close(out.depth[:, 16, 2].log(), -1.0 + ends * STEP, atol=1e-4, rtol=0)
    assert out.info["extension"]["junctions"] == plan.junctions() and len(out.info["round_seconds"]) == plan.rounds - 1


def test_extension_round_continues_from_the_last_k_latents_with_the_aligned_reference():
    previous = torch.arange(5.0).view(1, 1, 5, 1, 1).expand(1, 16, 5, 2, 4)
    cond, reference = extension_conditioning(previous, 2, "aligned")
    assert cond.frames.tolist() == [True, True, False, False, False]
    assert cond.latent[0, 0, :, 0, 0].tolist() == [3, 4, 0, 0, 0]
    assert reference[0, 0, :, 0, 0].tolist() == [3, 4, 4, 4, 4]
    assert torch.equal(extension_conditioning(previous, 2, "previous")[1], previous)
    with pytest.raises(ValueError):
        extension_conditioning(previous, 5)


class _Recorder(FrameSink):
    def __init__(self):
        self.chunks = []

    def write(self, frames, depth):
        self.chunks.append(frames.clone())


def test_stitcher_crossfades_the_overlap_and_holds_no_more_than_it():
    plan = ExtensionPlan.build(17, 2, rounds=3)  # overlap 5, stride 12
    sink = _Recorder()
    stitcher = FrameStitcher(plan, sink)
    for r in range(plan.rounds):
        stitcher.add(r, torch.full((17, 1, 1, 1), float(r)), None)
        assert stitcher.held_frames == (plan.overlap if r < plan.rounds - 1 else 0)
    stitcher.finish()
    video = torch.cat(sink.chunks)[:, 0, 0, 0]
    assert video.shape[0] == 41
    w = torch.arange(1, 6) / 6.0  # weight of the newer round, rising over the overlap
    torch.testing.assert_close(video[12:17], w)
    torch.testing.assert_close(video[24:29], 1 + w)
    torch.testing.assert_close(video[:12], torch.zeros(12))
    torch.testing.assert_close(video[29:], torch.full((12,), 2.0))
    with pytest.raises(ValueError, match="out of order"):
        FrameStitcher(plan, _Recorder()).add(1, torch.zeros(17, 1, 1, 1), None)


def _live_tensor_bytes() -> int:
    gc.collect()
    storages = {}
    for obj in gc.get_objects():
        if issubclass(type(obj), torch.Tensor):
            storage = obj.untyped_storage()
            storages[storage.data_ptr()] = storage.nbytes()
    return sum(storages.values())


class _MemoryProbe(FrameSink):
    """Counts frames and the bytes of every live tensor after each write."""

    def __init__(self):
        self.count, self.live = 0, []

    def write(self, frames, depth):
        self.count += frames.shape[0]
        self.live.append(_live_tensor_bytes())


def test_memory_stays_flat_in_the_number_of_rounds(toy_pipeline):
    peaks = {}
    for rounds in (2, 6):
        probe = _MemoryProbe()
        out = toy_pipeline(IMAGE, "a room", None, tiny_config_for_tests(num_frames=9, rounds=rounds), sink=probe)
        assert out.video is None and out.depth is None and probe.count == 1 + 8 * rounds
        peaks[rounds] = max(probe.live[1:])
    assert peaks[6] <= peaks[2] * 1.01  # six rounds keep no more tensors alive than two


def test_long_video_is_deterministic_for_a_seed():
    from .conftest import tiny_transformer

    # the tiny random transformer and encoders; the value-keeping toy VAE only saves the tiny VAE's CPU time
    pipe = PanoWorldPipeline(tiny_transformer(), IndexVAE(), components.TextEncoder.tiny(),
                             components.ImageEncoder.tiny())
    cfg = tiny_config_for_tests(num_frames=9, rounds=3, seed=4, extend_prompts=["a corridor"])
    a = pipe(IMAGE, "a room", "a panoramic room", cfg)
    b = pipe(IMAGE, "a room", "a panoramic room", cfg)
    assert a.video.shape == (25, 3, 32, 64) and torch.equal(a.video, b.video) and torch.equal(a.latent, b.latent)
    assert a.info["extend_evaluations"] == 3
    c = pipe(IMAGE, "a room", "a panoramic room", cfg.replace(seed=5))
    assert not torch.equal(a.video[9:], c.video[9:]) and not torch.equal(a.latent, c.latent)


def test_clip_writer_streams_video_preview_and_depth(tmp_path, toy_pipeline):
    from panoworld.io import probe_video, read_spherical_metadata, read_video
    from panoworld.pipelines.outputs import ClipWriter
    from panoworld.view.sources import read_sources

    cfg = tiny_config_for_tests(num_frames=9, rounds=3)
    with ClipWriter(tmp_path, fps=16.0, total_frames=25) as writer:
        toy_pipeline(IMAGE, "a room", None, cfg, sink=writer)
    assert set(writer.files) == {"video", "preview", "depth"}
    assert read_spherical_metadata(tmp_path / "pano.mp4") is not None
    assert probe_video(tmp_path / "preview.mp4", count_frames=True).num_frames == 25
    index = frame_index(read_video(tmp_path / "pano.mp4"))
    assert torch.equal(index.round(), torch.arange(25.0))  # H.264 keeps the index (4 grey levels apart)
    with np.load(tmp_path / "depth.npz") as npz:
        assert npz["depth"].shape == (25, 4, 8) and npz["depth"].dtype == np.float16
        assert npz["frame_indices"].tolist() == list(range(25))
    (tmp_path / "run.json").write_text(json.dumps({"config": {"fov_x": 90.0}}))
    geometry = read_sources([tmp_path])[0].videos[0].geometry()
    assert geometry.depth.shape == (25, 4, 8)


def test_a_failed_run_leaves_no_partial_files(tmp_path, toy_pipeline):
    from panoworld.pipelines.outputs import ClipWriter

    class Boom(RuntimeError):
        pass

    with pytest.raises(Boom):
        with ClipWriter(tmp_path, fps=16.0, total_frames=25) as writer:
            toy_pipeline(IMAGE, "a room", None, tiny_config_for_tests(num_frames=9, rounds=3), sink=writer)
            raise Boom()
    assert not any(p.suffix in (".mp4", ".npz") for p in tmp_path.iterdir())


def test_collect_frames_gives_full_resolution_depth():
    sink = CollectFrames()
    sink.write(torch.zeros(2, 3, 16, 32), torch.full((2, 2, 4), 3.0))
    assert sink.depth((16, 32)).shape == (2, 16, 32)
    torch.testing.assert_close(sink.depth((16, 32)), torch.full((2, 16, 32), 3.0))


@pytest.mark.parametrize("settings, message", [
    (dict(rounds=2, seconds=3.0), "not both"),
    (dict(rounds=0), "--rounds"),
    (dict(rounds=2, extend_frames=3), "--extend-frames"),
    (dict(rounds=2, extend_prompts=["a", "b"]), "--extend-prompt"),
    (dict(rounds=2, extend_prompts=[" "]), "--extend-prompt"),
    (dict(rounds=2, extend_reference="other"), "--extend-reference"),
    (dict(rounds=2, num_frames=1), "at least 5 frames"),
])
def test_extension_settings_are_checked_once(settings, message):
    with pytest.raises(InputError, match=message):
        GenerationConfig(**{"num_frames": 9, **settings}).validate()


def test_small_model_three_round_video_is_exact_deterministic_and_gets_its_drift_report(tmp_path):
    """The small PanoWorld's transformer (tiny-synth architecture with its heads, random weights) and its packaged
    text and image encoders on the CPU, at half its 128x256 size and 17-frame rounds, with the value-keeping toy VAE
    for the small VAE: at full size, three rounds twice plus the report take minutes on a busy 2-core box."""
    from panoworld.eval.extension import run_extension_eval
    from panoworld.eval.extension_geometry import GeometrySettings
    from panoworld.models.components.small import small_component_path
    from panoworld.pipelines.outputs import ClipWriter, write_outputs
    from panoworld.train.config import load_config
    from panoworld.train.modeling import build_transformer

    pipe = PanoWorldPipeline(build_transformer(load_config("tiny-synth")).eval(), IndexVAE(),
                             components.TextEncoder.from_pretrained(small_component_path("text_encoder"),
                                                                     dtype=torch.float32),
                             components.ImageEncoder.from_pretrained(small_component_path("image_encoder"),
                                                                      dtype=torch.float32))
    cfg = GenerationConfig(height=64, width=128, num_frames=17, num_steps=1, persp_height=32, persp_width=48,
                           rounds=3, seed=3)
    plan = cfg.extension_plan()
    assert plan.total_frames == 17 + 2 * 16 == 49
    with ClipWriter(tmp_path / "a", fps=cfg.fps, total_frames=plan.total_frames) as writer:
        result = pipe(IMAGE, "a room", "a panoramic room", cfg, sink=writer)
    write_outputs(tmp_path / "a", result, fps=cfg.fps, record={"config": cfg.to_dict(), "run_info": result.info},
                  settings_key="0" * 64, streamed=writer.files)
    again = pipe(IMAGE, "a room", "a panoramic room", cfg)
    assert again.video.shape == (49, 3, 64, 128) and again.depth.shape == (49, 64, 128)
    assert torch.equal(again.latent, result.latent) and again.info["extension"]["junctions"] == [16, 32]
    report, out = run_extension_eval(tmp_path / "a", geometry=GeometrySettings(annotate=False))
    assert report["frames"] == 49 and report["layout"]["starts"] == [0, 16, 32]
    assert len(report["junctions"]) == 2 and (out / "extension_report.json").is_file()
    assert report["depth"]["source"].startswith("depth.npz")
    assert all(math.isfinite(v) for v in report["metrics"]["depth/mean_m"]["per_round"])
