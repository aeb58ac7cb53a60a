"""Small geometry building blocks shared by annotate and eval (plain batched torch functions)."""

from .align import Similarity, align_points, apply_similarity

__all__ = ["Similarity", "align_points", "apply_similarity"]
