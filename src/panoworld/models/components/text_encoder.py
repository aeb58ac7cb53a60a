"""Text encoder: Cosmos-Reason1-7B (any Qwen2.5-VL) → per-token features of every layer, standardised.

Computes exactly what diffusers' ``Cosmos2_5_PredictBasePipeline._get_prompt_embeds`` and the reference
(``text_encoders/text_encoder.py``, reference §2.3) compute:

1. wrap each prompt in the chat template with the system text :data:`SYSTEM_PROMPT` (no generation prompt);
2. tokenise, pad with the pad id / truncate to ``max_length`` (512) tokens; no attention mask is passed, so
   the causal language model sees pad tokens only after the text (the tokenizer pads on its configured side);
3. run the language model and take every hidden state after the embedding (28 for the 7B model, the last one
   after the final RMSNorm, as transformers returns it);
4. standardise each over the feature axis, ``(h − mean) / (std + 1e-8)`` (unbiased std), and concatenate
   → (B, 512, layers × hidden) = (B, 512, 100352) for the 7B model.

Only the language model is loaded (the vision tower and LM head of the checkpoint are skipped), which saves
≈2.4 GB in bf16 (1.2 B parameters); the hidden states are identical to the full model's for text-only input.
Standardisation runs in float32 and the result is cast to the encoder dtype (diffusers standardises in the model
dtype; the two differ by at most bf16 rounding).
"""

from __future__ import annotations

import json
import os

import torch

from panoworld.errors import InputError, MissingComponentError
from panoworld.hub import hub_load_kwargs, is_hub_id

from ._base import ComponentBase, load_device_kwargs, quiet_transformers
from .prompt_cache import PromptCache, fingerprint_module

__all__ = ["SYSTEM_PROMPT", "TextEncoder", "standardize_and_concat"]

SYSTEM_PROMPT = "You are a helpful assistant who will provide prompts to an image generator."

# Checkpoints store the language model as ``model.layers.*`` (original Qwen2.5-VL / Cosmos-Reason1 layout) or
# ``model.language_model.layers.*`` (newer transformers); both map onto Qwen2_5_VLTextModel's own names.
_KEY_MAPPING = {r"^model\.language_model\.": ""}


def standardize_and_concat(hidden_states: tuple[torch.Tensor, ...] | list[torch.Tensor]) -> torch.Tensor:
    """(B, L, D) × (1 + layers) hidden states (embedding first) → (B, L, layers·D) float32.

    Each layer after the embedding is standardised over its last axis with the unbiased std and ``+1e-8``.
    """
    blocks = []
    for h in hidden_states[1:]:
        h = h.float()
        blocks.append((h - h.mean(dim=-1, keepdim=True)) / (h.std(dim=-1, keepdim=True) + 1e-8))
    return torch.cat(blocks, dim=-1)


def _folder_chat_template(folder: str) -> str | None:
    """Chat template stored beside a processor (``chat_template.json`` / ``.jinja``) rather than in the tokenizer."""
    if not os.path.isdir(folder):
        return None
    jinja = os.path.join(folder, "chat_template.jinja")
    if os.path.isfile(jinja):
        with open(jinja, encoding="utf-8") as fh:
            return fh.read()
    path = os.path.join(folder, "chat_template.json")
    if os.path.isfile(path):
        with open(path, encoding="utf-8") as fh:
            return json.load(fh).get("chat_template")
    return None


class TextEncoder(ComponentBase):
    """Prompt → (B, max_length, embed_dim) text features for the PanoWorld / Cosmos-Predict2.5 transformer.

    Args:
        model: a ``Qwen2_5_VLTextModel`` (or any module returning ``hidden_states`` with
            ``output_hidden_states=True``, e.g. a full ``Qwen2_5_VLForConditionalGeneration``).
        tokenizer: its tokenizer, carrying the chat template.
        max_length: tokens per prompt (512 for Cosmos-Predict2.5 / PanoWorld).
        cache_dir: optional folder for the on-disk prompt-embedding cache.
        name: where the weights came from (path or hub id); informational, not part of the cache key.
    """

    def __init__(self, model, tokenizer, *, max_length: int = 512, cache_dir: str | os.PathLike | None = None,
                 name: str = "") -> None:
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.max_length = int(max_length)
        self.name = name
        cfg = getattr(model.config, "text_config", model.config)
        self.num_layers = int(cfg.num_hidden_layers)
        self.hidden_size = int(cfg.hidden_size)
        self._identity: str | None = None
        self.cache = PromptCache(cache_dir, self.identity) if cache_dir is not None else None

    @property
    def embed_dim(self) -> int:
        """Features per token: layers × hidden (28 × 3584 = 100352 for Cosmos-Reason1-7B)."""
        return self.num_layers * self.hidden_size

    @property
    def identity(self) -> str:
        """Stable description of the encoder: text config, weights fingerprint, tokenizer, template, dtype.

        The folder name is not part of it, so a moved or re-downloaded checkpoint keeps its cache entries.
        """
        if self._identity is None:
            cfg = getattr(self.model.config, "text_config", self.model.config).to_dict()
            for volatile in ("_name_or_path", "transformers_version", "dtype", "torch_dtype", "_commit_hash"):
                cfg.pop(volatile, None)
            tok = self.tokenizer
            self._identity = json.dumps(
                {
                    "config": json.dumps(cfg, sort_keys=True, default=str),
                    "weights": fingerprint_module(self.model),
                    "tokenizer": [len(tok), tok.pad_token_id, tok.padding_side, tok.truncation_side,
                                  tok.chat_template if isinstance(tok.chat_template, str) else repr(tok.chat_template)],
                    "system": SYSTEM_PROMPT,
                    "dtype": str(self.dtype),
                },
                sort_keys=True,
            )
        return self._identity

    def to(self, device=None, dtype=None):
        """Move/cast the weights in place (the cache identity follows the dtype); returns ``self``."""
        super().to(device=device, dtype=dtype)
        if dtype is not None and self.cache is not None:
            self._identity = None
            self.cache = PromptCache(self.cache.root, self.identity)
        return self

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_pretrained(cls, path_or_hub_id: str | os.PathLike, *, device=None, dtype=None,
                        cache_dir: str | os.PathLike | None = None, max_length: int = 512,
                        local_files_only: bool | None = None) -> "TextEncoder":
        """Load the language model and tokenizer of a Qwen2.5-VL checkpoint (local folder or hub id).

        Only language-model weights are read; a checkpoint lacking any of them raises
        :class:`MissingComponentError` naming the missing keys (never a silent random init).
        """
        from transformers import AutoTokenizer, Qwen2_5_VLTextModel

        source = str(path_or_hub_id)
        if not os.path.isdir(source) and not is_hub_id(source):
            raise MissingComponentError(f"text encoder: no folder at '{source}' (expected a Qwen2.5-VL checkpoint)")
        kwargs = hub_load_kwargs(source) if local_files_only is None else {"local_files_only": local_files_only}
        try:
            tokenizer = AutoTokenizer.from_pretrained(source, **kwargs)
            with quiet_transformers():
                model, info = Qwen2_5_VLTextModel.from_pretrained(
                    source, dtype=dtype if dtype is not None else torch.bfloat16, key_mapping=_KEY_MAPPING,
                    output_loading_info=True, **load_device_kwargs(device), **kwargs,
                )
        except OSError as exc:
            raise MissingComponentError(
                f"text encoder: cannot load '{source}' ({str(exc).splitlines()[0]}); "
                "download nvidia/Cosmos-Reason1-7B or give a Qwen2.5-VL folder"
            ) from exc
        missing = sorted(info.get("missing_keys", []))
        if missing:
            raise MissingComponentError(
                f"text encoder: '{source}' lacks {len(missing)} language-model weights (e.g. {', '.join(missing[:3])})"
            )
        if tokenizer.chat_template is None:
            tokenizer.chat_template = _folder_chat_template(source)
        if tokenizer.chat_template is None:
            raise MissingComponentError(f"text encoder: the tokenizer in '{source}' has no chat template")
        if device is not None:
            model = model.to(device)
        return cls(model, tokenizer, max_length=max_length, cache_dir=cache_dir, name=source)

    @classmethod
    def tiny(cls, *, hidden_size: int = 32, num_layers: int = 2, max_length: int = 512,
             cache_dir: str | os.PathLike | None = None, seed: int = 0) -> "TextEncoder":
        """Random tiny Qwen2.5-VL language model: embed_dim = hidden_size × num_layers (64 by default)."""
        from ._tiny import tiny_qwen25vl

        full, tokenizer = tiny_qwen25vl(hidden_size=hidden_size, num_layers=num_layers, seed=seed)
        return cls(full.model.language_model, tokenizer, max_length=max_length, cache_dir=cache_dir,
                   name=f"tiny-qwen2.5-vl-{hidden_size}x{num_layers}-seed{seed}")

    # ------------------------------------------------------------------ encoding
    def conversation(self, prompt: str) -> list[dict]:
        """The chat messages for one prompt (system text of reference §2.3, then the user prompt)."""
        return [
            {"role": "system", "content": [{"type": "text", "text": SYSTEM_PROMPT}]},
            {"role": "user", "content": [{"type": "text", "text": prompt}]},
        ]

    def tokenize(self, prompts: list[str]) -> torch.Tensor:
        """(B, max_length) int64 token ids: chat template, padded with the pad id or truncated."""
        rows = []
        for prompt in prompts:
            ids = self.tokenizer.apply_chat_template(
                self.conversation(prompt), tokenize=True, add_generation_prompt=False, add_vision_id=False,
                max_length=self.max_length, truncation=True, padding="max_length",
            )
            if not isinstance(ids, list):
                ids = ids["input_ids"]
            rows.append(torch.tensor(ids, dtype=torch.long))
        return torch.stack(rows)

    @torch.no_grad()
    def _encode_uncached(self, prompts: list[str]) -> torch.Tensor:
        ids = self.tokenize(prompts).to(self.device)
        out = self.model(input_ids=ids, output_hidden_states=True)
        hidden = out.hidden_states
        if len(hidden) != self.num_layers + 1:
            raise RuntimeError(f"expected {self.num_layers + 1} hidden states, got {len(hidden)}")
        return standardize_and_concat(hidden).to(self.dtype)

    def encode(self, prompts: list[str] | str) -> torch.Tensor:
        """Prompts → (B, max_length, embed_dim) features in the encoder dtype on the encoder device.

        With a cache, each prompt is looked up first; only the misses run the model, and they are stored.
        """
        if isinstance(prompts, str):
            prompts = [prompts]
        prompts = list(prompts)
        if not prompts or not all(isinstance(p, str) for p in prompts):
            raise InputError("text encoder: expected a non-empty list of prompt strings")
        if self.cache is None:
            return self._encode_uncached(prompts)
        found = [self.cache.get(p, self.max_length) for p in prompts]
        todo = sorted({p for p, hit in zip(prompts, found) if hit is None})
        fresh = {}
        if todo:
            embeds = self._encode_uncached(todo)
            for prompt, emb in zip(todo, embeds):
                self.cache.put(prompt, self.max_length, emb)
                fresh[prompt] = emb
        rows = [hit if hit is not None else fresh[p] for p, hit in zip(prompts, found)]
        return torch.stack([r.to(self.device, self.dtype) for r in rows])
