"""The PanoWorld network: transformer, RoPE variants, checkpoint conversion and loading."""

# Submodules are imported on first use (PEP 562), so importing one light submodule (e.g.
# the component paths used by `panoworld weights`) does not pull in diffusers and transformers.
import importlib

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


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))

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
