"""Training presets (``panoworld train --config <name>``): tiny-synth, lora-2b, full-2b."""
