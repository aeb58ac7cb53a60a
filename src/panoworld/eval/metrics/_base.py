"""Shared metric plumbing: a torchmetrics-style accumulator and the per-metric metadata table."""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["Metric", "MetricInfo", "METRIC_INFO", "metric_info", "register_info"]


class Metric:
    """Accumulates per-clip values; ``update(...)`` returns the clip's values, ``compute()`` their means.

    Subclasses implement ``_evaluate(...) -> dict[str, float]``; non-finite values are kept in the
    per-clip result (the CSV records ``nan``) but skipped by ``compute()``.
    """

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self._sums: dict[str, float] = {}
        self._counts: dict[str, int] = {}

    def _evaluate(self, *args, **kwargs) -> dict[str, float]:
        raise NotImplementedError

    def update(self, *args, **kwargs) -> dict[str, float]:
        values = {k: float(v) for k, v in self._evaluate(*args, **kwargs).items()}
        for key, value in values.items():
            if math.isfinite(value):
                self._sums[key] = self._sums.get(key, 0.0) + value
                self._counts[key] = self._counts.get(key, 0) + 1
        return values

    def compute(self) -> dict[str, float]:
        return {k: self._sums[k] / self._counts[k] for k in sorted(self._sums)}


@dataclass(frozen=True)
class MetricInfo:
    """How to read a metric: family, unit, whether higher is better, and its ideal value (None: no ideal)."""

    family: str
    unit: str
    higher_is_better: bool
    ideal: float | None = None


METRIC_INFO: dict[str, MetricInfo] = {"cost/seconds": MetricInfo("cost", "s per clip (generation)", False, None)}


def register_info(prefix: str, info: MetricInfo) -> None:
    """Register metadata for every metric whose name equals ``prefix`` or starts with ``prefix + '/'``."""
    METRIC_INFO[prefix] = info


def metric_info(name: str) -> MetricInfo | None:
    """Metadata for ``name`` (exact match first, then the longest registered ``prefix/``)."""
    if name in METRIC_INFO:
        return METRIC_INFO[name]
    parts = name.split("/")
    for cut in range(len(parts) - 1, 0, -1):
        key = "/".join(parts[:cut])
        if key in METRIC_INFO:
            return METRIC_INFO[key]
    return None
