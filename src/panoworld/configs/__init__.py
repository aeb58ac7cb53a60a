"""Configuration presets shipped with panoworld."""
