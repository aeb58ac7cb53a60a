"""The PanoWorld network: transformer, RoPE variants, checkpoint conversion and loading."""

from .rope import ROPE_TYPES, PanoWorldRotaryPosEmbed, equirect_row_positions
from .transformer import (
    PanoWorldTransformer,
    PanoWorldTransformerBlock,
    cosmos_predict25_2b_config,
    panoworld_2b_config,
    tiny_config,
)

__all__ = [
    "ROPE_TYPES",
    "PanoWorldRotaryPosEmbed",
    "PanoWorldTransformer",
    "PanoWorldTransformerBlock",
    "cosmos_predict25_2b_config",
    "equirect_row_positions",
    "panoworld_2b_config",
    "tiny_config",
]
