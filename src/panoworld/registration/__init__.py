"""Point-set registration shared by annotate and eval: rigid / Sim(3) alignment of paired 3-D points (batched torch)."""

from .align import Similarity, align_points, apply_similarity

__all__ = ["Similarity", "align_points", "apply_similarity"]
