"""The training cache: contents, resume, refusal of mismatching settings, missing annotations."""

from __future__ import annotations

import math
import shutil

import pytest
import torch

from panoworld.errors import InputError, StaleItemsError
from panoworld.formats.captions import Captions, write_captions
from panoworld.formats.testset import MASTER_CSV
from panoworld.train.cache import TrainCache, build_cache
from panoworld.train.data import list_clips


def test_cache_contents(tiny_cache, tmp_path):
    make_config, cache_dir = tiny_cache
    cache = TrainCache.open(make_config(tmp_path))
    assert len(cache.names("train")) == 2 and len(cache.names("val")) == 1
    entry = cache.entry(cache.names("train")[0])
    assert entry.x0().shape == (16, 3, 4, 8) and entry.num_views == 2
    guide, reference, mask, tokens = entry.view(0)
    assert guide.shape == reference.shape == (16, 3, 4, 8) and mask.shape == (1, 3, 4, 8)
    assert set(mask.unique().tolist()) <= {0.0, 1.0} and tokens.shape == (16, 16)
    depth = entry.depth()
    assert depth.shape == (3, 4, 8) and torch.isfinite(depth).all()  # synth: every frame annotated, no sky inside
    assert 0 < depth.exp().min() and depth.exp().max() < 200  # metres
    xy, visible, static = entry.tracks()
    assert xy.shape == (36, 3, 2) and visible.shape == (36, 3) and static.shape == (36,)
    assert (0 <= xy[..., 0]).all() and (xy[..., 0] < 8).all()
    assert set(entry.captions) == {"short", "medium", "long"}
    assert cache.text("negative").shape == (512, 64)
    assert not cache.annotated("train", "depth")


def test_cache_resumes_and_redoes_changed_clips(tiny_cache, tmp_path):
    make_config, cache_dir = tiny_cache
    copy = tmp_path / "cache"
    shutil.copytree(cache_dir, copy)
    cfg = make_config(tmp_path / "run", data={"cache_dir": str(copy)})
    files = sorted((copy / "clips").glob("*.safetensors"))
    stamps = {p.name: p.stat().st_mtime_ns for p in files}
    files[0].unlink()
    built = build_cache(cfg, device=torch.device("cpu"))
    after = {p.name: p.stat().st_mtime_ns for p in sorted((copy / "clips").glob("*.safetensors"))}
    assert set(after) == set(stamps)
    assert [n for n in after if after[n] != stamps[n]] == [files[0].name]  # only the missing clip was redone
    assert built.names("train") == TrainCache.open(cfg).names("train")


def test_cache_rerun_rule_moved_source_changed_caption_changed_settings(tiny_cache, tmp_path, capsys):
    make_config, cache_dir = tiny_cache
    copy, split = tmp_path / "cache", tmp_path / "train"
    shutil.copytree(cache_dir, copy)
    shutil.copytree(make_config(tmp_path).data.train[0].path, split)  # the same clips, moved
    cfg = make_config(tmp_path / "run", data={"cache_dir": str(copy), "train": [{"path": str(split)}]})
    stamps = {p.name: p.stat().st_mtime_ns for p in (copy / "clips").glob("*.safetensors")}
    lines = []
    build_cache(cfg, device=torch.device("cpu"), say=lines.append)
    assert lines == ["0 clip(s) to run, 3 already done"]
    clip = list_clips(split)[0]
    write_captions(clip_caption_path(split, clip.name), Captions(short="s", medium="m", long="a new long caption"))
    lines.clear()
    build_cache(cfg, device=torch.device("cpu"), say=lines.append)
    assert lines == ["1 clip(s) to run (1 whose inputs changed), 2 already done"]
    after = {p.name: p.stat().st_mtime_ns for p in (copy / "clips").glob("*.safetensors")}
    assert [n for n in after if after[n] != stamps[n]] == [f"{clip.name}.safetensors"]
    cache = TrainCache.open(cfg)
    assert cache.entry(clip.name).captions["long"] == cache.texts.key("a new long caption")
    other = make_config(tmp_path / "run", data={"cache_dir": str(copy), "train": [{"path": str(split)}]},
                        samples={"fill_noise_std": 0.25})
    with pytest.raises(StaleItemsError, match="--force"):
        build_cache(other, device=torch.device("cpu"))
    assert {p.name: p.stat().st_mtime_ns for p in (copy / "clips").glob("*.safetensors")} == after  # nothing done
    lines.clear()
    build_cache(other, device=torch.device("cpu"), force=True, say=lines.append)
    assert lines == ["3 clip(s) to run (3 finished one(s) redone (--force)), 0 already done"]
    assert TrainCache.open(other).manifest["settings"]["fill_noise_std"] == 0.25


def clip_caption_path(split, name):
    """The caption file of clip ``<split>__<name>`` of a synth split (through the test set's master.csv)."""
    from panoworld.formats.testset import read_master

    return next(c.caption_path for c in read_master(split / MASTER_CSV, load_captions=False) if c.dirname == name)


def test_training_refuses_a_missing_or_mismatching_cache(tiny_cache, tmp_path):
    make_config, cache_dir = tiny_cache
    with pytest.raises(InputError, match="no training cache"):
        TrainCache.open(make_config(tmp_path, data={"cache_dir": str(tmp_path / "none")}))
    with pytest.raises(InputError, match="other settings \\(height"):
        TrainCache.open(make_config(tmp_path, data={"height": 64, "width": 128}))
    with pytest.raises(InputError, match="other settings \\(views_per_clip"):
        TrainCache.open(make_config(tmp_path, samples={"views_per_clip": 3}))
    copy = tmp_path / "cache"
    shutil.copytree(cache_dir, copy)
    next((copy / "clips").glob("*.safetensors")).unlink()
    with pytest.raises(InputError, match="lacks 1 clip"):
        TrainCache.open(make_config(tmp_path, data={"cache_dir": str(copy)}))


def test_a_nonzero_weight_needs_annotations(tiny_cache, tmp_path):
    make_config, _ = tiny_cache
    cfg = make_config(tmp_path)
    bare = tmp_path / "bare"
    shutil.copytree(cfg.data.train[0].path, bare)
    shutil.rmtree(bare / "annotations")
    cfg = make_config(tmp_path, data={"train": [{"path": str(bare)}], "cache_dir": str(tmp_path / "c")})
    with pytest.raises(InputError, match="has no annotations but loss.depth_weight > 0"):
        build_cache(cfg, device=torch.device("cpu"))
    assert not (tmp_path / "c" / "clips").exists()  # refused before any work
    cfg = make_config(tmp_path, data={"train": [{"path": str(bare)}], "cache_dir": str(tmp_path / "c")},
                      loss={"depth_weight": 0.0, "track_weight": 0.0, "rigidity_weight": 0.0})
    cache = build_cache(cfg, device=torch.device("cpu"))
    assert cache.annotated("train", "depth") == cache.names("train")
    assert cache.entry(cache.names("train")[0]).depth() is None
    assert math.isfinite(float(cache.entry(cache.names("train")[0]).x0().sum()))


def test_sharded_cache_equals_one_process_and_the_last_call_writes_the_manifest(tiny_cache, tmp_path):
    make_config, cache_dir = tiny_cache
    cfg = make_config(tmp_path / "run", data={"cache_dir": str(tmp_path / "sharded")})
    assert build_cache(cfg, device=torch.device("cpu"), shard=(1, 2)) is None
    assert len(list((tmp_path / "sharded" / "clips").glob("*.safetensors"))) == 1  # 3 clips: positions 1
    with pytest.raises(InputError):
        TrainCache.open(cfg)  # no manifest before the shards are joined
    assert build_cache(cfg, device=torch.device("cpu"), shard=(0, 2)) is None
    with pytest.raises(InputError, match="shard"):
        build_cache(cfg, device=torch.device("cpu"), shard=(2, 2))
    joined = build_cache(cfg, device=torch.device("cpu"))
    reference = TrainCache.open(make_config(tmp_path / "ref"))
    assert joined.names("train") == reference.names("train")
    for name in joined.names("train") + joined.names("val"):
        assert torch.equal(joined.entry(name).x0(), reference.entry(name).x0())


def test_the_cache_vae_chunks_fit_the_budget(monkeypatch):
    """The cache's encoder chunk: 1 + 32 frames for the small model's K = 4 views at 128x256 x 33, the diffusers
    minimum of 4 for large videos, never longer than the clip."""
    from panoworld.models.components import VideoVAE
    from panoworld.train import cache
    from panoworld.train.config import load_config

    monkeypatch.setattr(cache.components, "load_vae", lambda *args: VideoVAE.tiny(seed=0))
    vae = cache.load_cache_vae(load_config("tiny-synth"), torch.device("cpu"))
    assert vae.chunk_budget == cache.ENCODE_CHUNK_BUDGET
    assert vae.chunk_lengths((4, 3, 33, 128, 256))[0] == 32
    assert vae.chunk_lengths((4, 3, 93, 720, 1440))[0] == 4
    chunk = vae.chunk_lengths((4, 3, 93, 256, 512))[0]
    assert chunk % 4 == 0 and 4 < chunk < 92 and chunk * 256 * 512 * 4 <= cache.ENCODE_CHUNK_BUDGET
