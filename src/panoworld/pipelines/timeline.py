"""Where every round of a long (extended) video sits on the output clock; imports neither torch nor numpy.

A causal video VAE with 4x temporal compression maps ``T = 4 (T_lat - 1) + 1`` frames to ``T_lat`` latent frames:
latent frame 0 holds video frame 0, latent frame ``k >= 1`` holds frames ``4k - 3 ... 4k``. An extension round
takes the previous round's last ``K`` latent frames as its first ``K`` (clean, conditional) latent frames. Decoded
on their own, those ``K`` latents give ``4K - 3`` frames (the first one decodes as a single frame: the last frame
of its group), which show the same moments as the previous round's last ``4K - 3`` frames. So every extension
round

* starts ``stride = 4 (T_lat - K)`` frames after the previous round started,
* overlaps the previous round by ``overlap = 4K - 3`` frames (cross-faded, never duplicated),
* adds ``stride`` new frames; ``N`` rounds give ``T + (N - 1) stride`` frames.

With ``seconds`` the video is cut to ``round(seconds * fps)`` frames after the fewest rounds that reach it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["ExtensionPlan", "round_seed"]


def round_seed(seed: int, round_index: int) -> int:
    """Seed of round ``round_index`` (0 = the first clip, which uses ``seed`` itself), in [0, 2^32).

    Later rounds use ``SeedSequence([seed, round_index])``, so no round repeats another run's seed (the
    reference's ``seed + round`` makes round 1 of seed s draw the noise of round 0 of seed s + 1).
    """
    if round_index == 0:
        return int(seed)
    import numpy as np  # here, not at import: settings are validated before numpy or torch load

    return int(np.random.SeedSequence([int(seed), int(round_index)]).generate_state(1, np.uint32)[0])


@dataclass(frozen=True)
class ExtensionPlan:
    """The frame bookkeeping of a video made of ``rounds`` rounds of ``num_frames`` frames each.

    Attributes:
        num_frames: frames per round, 4k + 1.
        cond_frames: K, latent frames carried from one round to the next (1 <= K < T_lat).
        rounds: number of rounds (1 = no extension).
        total_frames: frames of the output video (<= the frames the rounds cover; less when cut to ``seconds``).
    """

    num_frames: int
    cond_frames: int
    rounds: int
    total_frames: int

    @classmethod
    def build(cls, num_frames: int, cond_frames: int, *, rounds: int = 1, seconds: float = 0.0,
              fps: float = 16.0) -> "ExtensionPlan":
        """The plan of ``rounds`` rounds, or (``seconds`` > 0) of the fewest rounds covering ``seconds``.

        Raises ``ValueError`` for an impossible combination (the caller's validation words it for users).
        """
        total = int(round(seconds * fps)) if seconds > 0 else num_frames
        if seconds > 0 and total < 1:
            raise ValueError(f"{seconds} s at {fps} fps is less than one frame")
        if rounds < 1:
            raise ValueError(f"rounds must be at least 1, got {rounds}")
        if total <= num_frames and rounds == 1:
            return cls(num_frames, cond_frames, 1, total)
        latent = 1 + (num_frames - 1) // 4
        if not 1 <= cond_frames < latent:
            raise ValueError(f"cond_frames must be in [1, {latent - 1}] for {num_frames}-frame rounds")
        stride = 4 * (latent - cond_frames)
        if seconds > 0:
            return cls(num_frames, cond_frames, 1 + math.ceil((total - num_frames) / stride), total)
        return cls(num_frames, cond_frames, rounds, num_frames + (rounds - 1) * stride)

    @property
    def latent_frames(self) -> int:
        """T_lat of one round."""
        return 1 + (self.num_frames - 1) // 4

    @property
    def stride(self) -> int:
        """New frames per extension round (frames between the starts of two rounds)."""
        return 4 * (self.latent_frames - self.cond_frames)

    @property
    def overlap(self) -> int:
        """Frames a round shares with the previous one (4K - 3)."""
        return 4 * self.cond_frames - 3

    def start(self, round_index: int) -> int:
        """Output frame index of frame 0 of round ``round_index``."""
        return round_index * self.stride

    def junctions(self) -> list[int]:
        """Output frame where each extension round starts (its first, cross-faded, frame); empty for one round."""
        return [self.start(r) for r in range(1, self.rounds) if self.start(r) < self.total_frames]

    def to_dict(self) -> dict:
        """Plain dict for run records (includes the derived stride, overlap and junctions)."""
        return {"num_frames": self.num_frames, "cond_frames": self.cond_frames, "rounds": self.rounds,
                "total_frames": self.total_frames, "stride": self.stride, "overlap": self.overlap,
                "junctions": self.junctions()}
