"""Batched CFG with the image context in the conditional half only.

The reference's unconditional branch gets no SigLIP tokens. To run both CFG branches in one forward of batch 2,
the image cross-attention term must be added to the first row only. :func:`enable_partial_image_batch` swaps the
attention processors of a ``PanoWorldTransformer`` for a subclass that does exactly that when the image tokens
have a smaller batch than the queries (rows ``>= n`` get no image term, as with ``image_hidden_states=None``);
with equal batches it behaves like the original. The result equals two separate calls up to float rounding of
the batch-2 matmuls (tested to 1e-5 in float32).
"""

from __future__ import annotations

import torch

__all__ = ["enable_partial_image_batch"]


def _processor_class(base: type) -> type:
    class PartialImageAttnProcessor(base):
        """``base`` + image tokens of batch n < B applied to the first n rows only.

        The cross-attention runs as two calls of the original processor (rows ``:n`` with the image tokens,
        rows ``n:`` without); self-attention, MLP and everything else stay batched. Cross-attention over the
        512 text tokens is a small part of a block, so this keeps nearly all of the batching gain.
        """

        def __call__(self, attn, hidden_states, encoder_hidden_states=None, attention_mask=None,
                     image_hidden_states=None, rotary_emb=None):
            call = super().__call__
            if image_hidden_states is None or image_hidden_states.shape[0] == hidden_states.shape[0]:
                return call(attn, hidden_states, encoder_hidden_states=encoder_hidden_states,
                            attention_mask=attention_mask, image_hidden_states=image_hidden_states,
                            rotary_emb=rotary_emb)
            n = image_hidden_states.shape[0]
            rows = (lambda x, s: None if x is None else x[s])  # noqa: E731
            first = call(attn, hidden_states[:n], encoder_hidden_states=rows(encoder_hidden_states, slice(0, n)),
                         attention_mask=attention_mask, image_hidden_states=image_hidden_states,
                         rotary_emb=rotary_emb)
            rest = call(attn, hidden_states[n:], encoder_hidden_states=rows(encoder_hidden_states, slice(n, None)),
                        attention_mask=attention_mask, image_hidden_states=None, rotary_emb=rotary_emb)
            return torch.cat([first, rest])

    return PartialImageAttnProcessor


def enable_partial_image_batch(transformer) -> bool:
    """Install the partial-image processors on every cross-attention of ``transformer``; True when done.

    Returns False (and changes nothing) for a transformer without an image branch or of an unknown layout.
    """
    if getattr(transformer, "supports_partial_image_batch", False):
        return True
    blocks = getattr(transformer, "transformer_blocks", None)
    if blocks is None or not getattr(transformer.config, "img_context_dim_in", None):
        return False
    attns = [getattr(block, "attn2", None) for block in blocks]
    if any(a is None or not hasattr(a, "processor") for a in attns):
        return False
    shared = {}  # one processor object per original processor class (see models.attention.SHARED_PROCESSOR)
    for attn in attns:
        base = type(attn.processor)
        attn.set_processor(shared.setdefault(base, _processor_class(base)()))
    transformer.supports_partial_image_batch = True
    return True
