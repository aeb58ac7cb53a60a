"""Tiny, randomly initialised but real architectures for tests (no network, CPU, about a second to build).

The tokenizer is a byte-level BPE with no merges (every UTF-8 byte is one token) plus the Qwen chat special
tokens, carrying a Qwen2-VL-style chat template, so the production chat/tokenise/pad path runs unchanged.
"""

from __future__ import annotations

import torch

__all__ = ["QWEN_CHAT_TEMPLATE", "tiny_qwen25vl", "tiny_qwen_tokenizer", "tiny_siglip_config", "tiny_wan_vae_config"]

# Same structure as the Qwen2-VL / Qwen2.5-VL chat template (system default, content lists, vision placeholders).
QWEN_CHAT_TEMPLATE = (
    "{% set image_count = namespace(value=0) %}{% set video_count = namespace(value=0) %}"
    "{% for message in messages %}"
    "{% if loop.first and message['role'] != 'system' %}<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
    "{% endif %}<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}<|im_end|>\n"
    "{% else %}{% for content in message['content'] %}"
    "{% if content['type'] == 'image' or 'image' in content or 'image_url' in content %}"
    "{% set image_count.value = image_count.value + 1 %}"
    "{% if add_vision_id %}Picture {{ image_count.value }}: {% endif %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif content['type'] == 'video' or 'video' in content %}{% set video_count.value = video_count.value + 1 %}"
    "{% if add_vision_id %}Video {{ video_count.value }}: {% endif %}<|vision_start|><|video_pad|><|vision_end|>"
    "{% elif 'text' in content %}{{ content['text'] }}{% endif %}{% endfor %}<|im_end|>\n"
    "{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

_SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>",
             "<|image_pad|>", "<|video_pad|>"]


def tiny_qwen_tokenizer():
    """A real ``PreTrainedTokenizerFast`` (byte-level, 263 tokens, pad ``<|endoftext|>``) with the chat template."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {ch: i for i, ch in enumerate(sorted(pre_tokenizers.ByteLevel.alphabet()))}
    for token in _SPECIALS:
        vocab[token] = len(vocab)
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens(_SPECIALS)
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, pad_token="<|endoftext|>", eos_token="<|im_end|>", chat_template=QWEN_CHAT_TEMPLATE
    )


def tiny_qwen25vl(*, hidden_size: int = 32, num_layers: int = 2, seed: int = 0):
    """(model, tokenizer): a full ``Qwen2_5_VLForConditionalGeneration`` with a tiny text and vision tower."""
    from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration

    tokenizer = tiny_qwen_tokenizer()
    heads = 2
    half_rotary = hidden_size // heads // 2
    section = [half_rotary - 2 * (half_rotary // 3), half_rotary // 3, half_rotary // 3]
    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in _SPECIALS}
    config = Qwen2_5_VLConfig(
        text_config=dict(
            vocab_size=len(tokenizer),
            hidden_size=hidden_size,
            intermediate_size=2 * hidden_size,
            num_hidden_layers=num_layers,
            num_attention_heads=heads,
            num_key_value_heads=1,
            max_position_embeddings=2048,
            rope_scaling={"type": "mrope", "mrope_section": section},  # read by transformers 4.x and 5.x
            rope_theta=10000.0,
            pad_token_id=tokenizer.pad_token_id,
            bos_token_id=tokenizer.pad_token_id,
            eos_token_id=tokenizer.eos_token_id,
        ),
        vision_config=dict(depth=1, hidden_size=16, intermediate_size=32, num_heads=2, out_hidden_size=hidden_size,
                           fullatt_block_indexes=[0]),
        image_token_id=ids["<|image_pad|>"],
        video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"],
        vision_end_token_id=ids["<|vision_end|>"],
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = Qwen2_5_VLForConditionalGeneration(config).eval()
    return model, tokenizer


def tiny_siglip_config(*, hidden_size: int = 16, image_size: int = 56, patch_size: int = 14):
    """A 2-layer SigLIP vision config: (image_size / patch_size)² tokens of ``hidden_size`` features."""
    from transformers import SiglipVisionConfig

    return SiglipVisionConfig(
        hidden_size=hidden_size,
        intermediate_size=2 * hidden_size,
        num_hidden_layers=2,
        num_attention_heads=2,
        image_size=image_size,
        patch_size=patch_size,
    )


def tiny_wan_vae_config(*, base_dim: int = 8, dim_mult: tuple[int, ...] = (1, 2, 2, 2)) -> dict:
    """AutoencoderKLWan kwargs with Wan2.1's structure (8× spatial, 4× temporal, 16 channels, one residual block per
    level) at a small width: level widths ``base_dim · dim_mult`` (tiny by default)."""
    return dict(
        base_dim=base_dim,
        z_dim=16,
        dim_mult=list(dim_mult),
        num_res_blocks=1,
        attn_scales=[],
        temperal_downsample=[False, True, True],
    )
