"""TextEncoder: shapes, per-layer standardisation, equality with diffusers' Cosmos-Predict2.5 path, cache."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch
from safetensors.torch import load_file, save_file

from panoworld.errors import InputError, MissingComponentError
from panoworld.models.components import SYSTEM_PROMPT, TextEncoder, standardize_and_concat

PROMPTS = ["A sunny plaza with a fountain, people walking.", "snowy mountain pass at dusk"]


@pytest.fixture(scope="module")
def encoder():
    return TextEncoder.tiny()


def test_tiny_shapes_and_embed_dim(encoder):
    out = encoder.encode(PROMPTS)
    assert encoder.embed_dim == 64
    assert out.shape == (2, 512, 64)
    assert out.dtype == encoder.dtype and torch.isfinite(out).all()


def test_each_layer_block_standardised(encoder):
    out = encoder.encode(PROMPTS[:1])
    blocks = out.view(1, 512, encoder.num_layers, encoder.hidden_size)
    mean = blocks.mean(-1)
    std = blocks.std(-1)
    assert mean.abs().max() < 1e-5
    assert (std - 1).abs().max() < 1e-4


def test_standardize_and_concat_skips_embedding_layer():
    h = [torch.full((1, 3, 4), 7.0)] + [torch.randn(1, 3, 4) * 5 + 2 for _ in range(3)]
    out = standardize_and_concat(h)
    assert out.shape == (1, 3, 12)
    ref = torch.cat([(x - x.mean(-1, keepdim=True)) / (x.std(-1, keepdim=True) + 1e-8) for x in h[1:]], -1)
    torch.testing.assert_close(out, ref, rtol=0, atol=0)


def test_tokenize_pads_and_truncates(encoder):
    ids = encoder.tokenize(["short", "x" * 2000])
    assert ids.shape == (2, 512)
    pad = encoder.tokenizer.pad_token_id
    assert ids[0, -1] == pad and ids[0, 0] != pad
    assert (ids[1] != pad).all()
    text = encoder.tokenizer.decode(ids[0][ids[0] != pad])
    assert SYSTEM_PROMPT in text and "short" in text


def test_matches_diffusers_cosmos25_prompt_embeds(tiny_qwen_dir):
    from diffusers.pipelines.cosmos.pipeline_cosmos2_5_predict import Cosmos2_5_PredictBasePipeline

    folder, full_model, tokenizer = tiny_qwen_dir
    fake_pipe = SimpleNamespace(text_encoder=full_model, tokenizer=tokenizer, _execution_device=torch.device("cpu"))
    with torch.no_grad():
        ref = Cosmos2_5_PredictBasePipeline._get_prompt_embeds(fake_pipe, PROMPTS, max_sequence_length=512)
    enc = TextEncoder.from_pretrained(folder, dtype=torch.float32)
    ours = enc.encode(PROMPTS)
    assert ref.shape == ours.shape == (2, 512, 64)
    torch.testing.assert_close(ours, ref, rtol=0, atol=1e-6)


def test_loads_both_checkpoint_key_layouts(tiny_qwen_dir, tmp_path):
    folder, _, _ = tiny_qwen_dir
    base = TextEncoder.from_pretrained(folder, dtype=torch.float32).encode(PROMPTS[:1])
    new = tmp_path / "new_layout"
    new.mkdir()
    for f in folder.iterdir():
        if f.name != "model.safetensors":
            (new / f.name).write_bytes(f.read_bytes())
    sd = load_file(str(folder / "model.safetensors"))
    renamed = {("model.language_model." + k[6:] if k.startswith("model.") else
                "model." + k if k.startswith("visual.") else k): v for k, v in sd.items()}
    assert any(k.startswith("model.language_model.layers.") for k in renamed)
    save_file(renamed, str(new / "model.safetensors"), metadata={"format": "pt"})
    out = TextEncoder.from_pretrained(new, dtype=torch.float32).encode(PROMPTS[:1])
    torch.testing.assert_close(out, base, rtol=0, atol=0)


def test_missing_language_weights_is_an_error(tiny_qwen_dir, tmp_path):
    folder, _, _ = tiny_qwen_dir
    for f in folder.iterdir():
        (tmp_path / f.name).write_bytes(f.read_bytes())
    sd = load_file(str(folder / "model.safetensors"))
    sd = {k: v for k, v in sd.items() if "layers.1." not in k}
    save_file(sd, str(tmp_path / "model.safetensors"), metadata={"format": "pt"})
    with pytest.raises(MissingComponentError, match="lacks .* language-model weights"):
        TextEncoder.from_pretrained(tmp_path, dtype=torch.float32)


def test_missing_folder_is_an_error(tmp_path):
    with pytest.raises(MissingComponentError, match="text encoder"):
        TextEncoder.from_pretrained(tmp_path / "nope")


def test_cache_hit_returns_identical_tensors(tmp_path):
    enc = TextEncoder.tiny(cache_dir=tmp_path)
    first = enc.encode(PROMPTS)
    assert (enc.cache.hits, enc.cache.misses) == (0, 2)
    files = sorted(tmp_path.rglob("*.safetensors"))
    assert len(files) == 2
    enc2 = TextEncoder.tiny(cache_dir=tmp_path)
    enc2.model.forward = None  # a cache hit must not run the model
    second = enc2.encode(PROMPTS)
    assert (enc2.cache.hits, enc2.cache.misses) == (2, 0)
    assert torch.equal(first, second)
    assert not list(tmp_path.rglob("*.tmp*"))


def test_cache_survives_moving_the_checkpoint(tiny_qwen_dir, tmp_path):
    import shutil

    folder, _, _ = tiny_qwen_dir
    moved = tmp_path / "elsewhere"
    shutil.copytree(folder, moved)
    cache = tmp_path / "cache"
    TextEncoder.from_pretrained(folder, dtype=torch.float32, cache_dir=cache, max_length=32).encode(["hi"])
    again = TextEncoder.from_pretrained(moved, dtype=torch.float32, cache_dir=cache, max_length=32)
    again.encode(["hi"])
    assert again.cache.hits == 1


def test_chat_template_from_processor_file(tiny_qwen_dir, tmp_path):
    import json

    folder, _, tokenizer = tiny_qwen_dir
    for f in folder.iterdir():
        if f.name != "chat_template.jinja":
            (tmp_path / f.name).write_bytes(f.read_bytes())
    cfg = json.loads((tmp_path / "tokenizer_config.json").read_text())
    cfg.pop("chat_template", None)
    (tmp_path / "tokenizer_config.json").write_text(json.dumps(cfg))
    (tmp_path / "chat_template.json").write_text(json.dumps({"chat_template": tokenizer.chat_template}))
    enc = TextEncoder.from_pretrained(tmp_path, dtype=torch.float32, max_length=32)
    assert enc.tokenizer.chat_template == tokenizer.chat_template
    ref = TextEncoder.from_pretrained(folder, dtype=torch.float32, max_length=32)
    assert torch.equal(enc.tokenize(["x"]), ref.tokenize(["x"]))


def test_cache_key_depends_on_weights_text_and_length(tmp_path):
    a = TextEncoder.tiny(cache_dir=tmp_path, seed=0)
    b = TextEncoder.tiny(cache_dir=tmp_path, seed=1)
    assert a.cache.key("x", 512) != b.cache.key("x", 512)
    assert a.cache.key("x", 512) != a.cache.key("y", 512)
    assert a.cache.key("x", 512) != a.cache.key("x", 256)
    a.encode(["x"])
    b.encode(["x"])
    assert b.cache.misses == 1 and len(list(tmp_path.rglob("*.safetensors"))) == 2


def test_cache_mixed_batch_and_duplicates(tmp_path):
    enc = TextEncoder.tiny(cache_dir=tmp_path, max_length=64)
    enc.encode(["one"])
    out = enc.encode(["two", "one", "two"])
    assert out.shape == (3, 64, 64)
    assert torch.equal(out[0], out[2])
    ref = TextEncoder.tiny(max_length=64).encode(["two", "one"])
    torch.testing.assert_close(out[:2], ref, rtol=0, atol=0)


def test_corrupt_cache_entry_is_recomputed(tmp_path):
    enc = TextEncoder.tiny(cache_dir=tmp_path, max_length=32)
    ref = enc.encode(["hello"])
    enc.cache.path("hello", 32).write_bytes(b"garbage")
    again = enc.encode(["hello"])
    assert torch.equal(ref, again)


def test_bad_prompts_raise_input_error(encoder):
    with pytest.raises(InputError):
        encoder.encode([])
