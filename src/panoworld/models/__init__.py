"""The PanoWorld network: transformer, RoPE variants, checkpoint conversion and loading."""

# Submodules are imported on first use (PEP 562), so importing one light submodule (e.g.
# the component paths used by `panoworld weights`) does not pull in diffusers and transformers.
from panoworld._lazy import lazy_exports

_EXPORTS = {
    "ConversionError": ".conversion",
    "convert_state_dict": ".conversion",
    "convert_checkpoint": ".loading",
    "load_transformer": ".loading",
    "save_converted": ".loading",
    "ROPE_TYPES": ".rope",
    "PanoWorldRotaryPosEmbed": ".rope",
    "equirect_row_positions": ".rope",
    "PanoWorldTransformer": ".transformer",
    "PanoWorldTransformerBlock": ".transformer",
    "cosmos_predict25_2b_config": ".transformer",
    "panoworld_2b_config": ".transformer",
    "tiny_config": ".transformer",
}

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

__all__ = list(_EXPORTS)
