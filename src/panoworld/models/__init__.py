"""Models: the PanoWorld transformer and its components (text encoder, SigLIP2, Wan2.1 VAE)."""
