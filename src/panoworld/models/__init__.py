"""The PanoWorld network: transformer, RoPE variants, checkpoint conversion and loading."""

from .conversion import ConversionError, convert_state_dict
from .loading import convert_checkpoint, load_transformer, save_converted
from .rope import ROPE_TYPES, PanoWorldRotaryPosEmbed, equirect_row_positions
from .transformer import (
    PanoWorldTransformer,
    PanoWorldTransformerBlock,
    cosmos_predict25_2b_config,
    panoworld_2b_config,
    tiny_config,
)

__all__ = [
    "ConversionError",
    "convert_checkpoint",
    "convert_state_dict",
    "load_transformer",
    "save_converted",
    "ROPE_TYPES",
    "PanoWorldRotaryPosEmbed",
    "PanoWorldTransformer",
    "PanoWorldTransformerBlock",
    "cosmos_predict25_2b_config",
    "equirect_row_positions",
    "panoworld_2b_config",
    "tiny_config",
]
