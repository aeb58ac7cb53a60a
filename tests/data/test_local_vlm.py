"""The transformers backend end to end with a tiny randomly initialised Qwen2-VL and a word-level tokenizer."""

from __future__ import annotations

import json

import pytest
import torch

from panoworld.data.caption import CaptionOptions, ClipItem, caption_clips

SPECIALS = ["<unk>", "<pad>", "<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>", "<|image_pad|>",
            "<|video_pad|>"]
WORDS = "user assistant image front right back left early middle late yaw short medium long [ ] : / ( ) { } , .".split()
TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{% for c in m['content'] %}"
    "{% if c['type'] == 'image' %}<|vision_start|><|image_pad|><|vision_end|>{% else %}{{ c['text'] }}{% endif %}"
    "{% endfor %}<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def tiny_qwen2_vl():
    """(model, processor): 1-layer Qwen2-VL with random weights and a processor built without any download."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast, Qwen2VLConfig, Qwen2VLForConditionalGeneration, Qwen2VLProcessor
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

    class Processor(Qwen2VLProcessor):
        # transformers looks up the video-processor class, which needs torchvision; we pass no video processor
        def check_argument_for_proper_class(self, name, arg):
            return type(arg)

    vocab = {t: i for i, t in enumerate(SPECIALS + WORDS)}
    core = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.Whitespace()
    tok = PreTrainedTokenizerFast(tokenizer_object=core, unk_token="<unk>", pad_token="<pad>", eos_token="<|im_end|>",
                                  additional_special_tokens=SPECIALS[2:])
    images = Qwen2VLImageProcessorPil(min_pixels=28 * 28, max_pixels=56 * 56, patch_size=14, merge_size=2,
                                      temporal_patch_size=2)
    processor = Processor(image_processor=images, tokenizer=tok, chat_template=TEMPLATE)
    config = Qwen2VLConfig(
        text_config=dict(vocab_size=len(vocab), hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                         num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=4096,
                         rope_scaling={"type": "mrope", "mrope_section": [2, 3, 3]}),
        vision_config=dict(depth=1, embed_dim=16, hidden_size=32, num_heads=2, mlp_ratio=2, patch_size=14,
                           spatial_merge_size=2, temporal_patch_size=2, in_chans=3),
        image_token_id=vocab["<|image_pad|>"], video_token_id=vocab["<|video_pad|>"],
        vision_start_token_id=vocab["<|vision_start|>"], vision_end_token_id=vocab["<|vision_end|>"],
        eos_token_id=vocab["<|im_end|>"], pad_token_id=vocab["<pad>"], bos_token_id=None,
    )
    torch.manual_seed(0)
    return Qwen2VLForConditionalGeneration(config).eval(), processor


def test_transformers_backend_runs_a_tiny_qwen2_vl(cut_out, tmp_path):
    pytest.importorskip("tokenizers")
    from panoworld.data.caption.backends.local_hf import TransformersBackend

    model, processor = tiny_qwen2_vl()
    backend = TransformersBackend("tiny-qwen2-vl", model_obj=model, processor=processor, max_tokens=4)
    clip = next((cut_out / "clips").glob("*.mp4"))
    out = tmp_path / "c"
    summary = caption_clips([ClipItem(clip, "v")], out, backend, CaptionOptions(view_size=(48, 64), max_attempts=2,
                                                                                 retry_base=0.0))
    # random weights cannot write valid JSON: both attempts are recorded as invalid answers, with real token counts
    assert (summary["requests"], summary["failed"]) == (2, 1)
    assert summary["output_tokens"] == 8 and summary["input_tokens"] > 12 * 4
    failed = json.loads((out / f"{clip.stem}.failed.json").read_text())
    assert failed["error"] == "invalid_answer"
    inputs = backend.build_inputs("prompt", [])
    assert inputs["input_ids"].shape[0] == 1
