"""Shared metric plumbing: the per-clip metric interface and the per-metric metadata table."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Metric", "MetricInfo", "METRIC_INFO", "metric_info", "register_info"]


class Metric:
    """A metric family evaluated one clip at a time: ``update(...)`` returns that clip's values by metric name.

    Stateless: the scorer writes every clip's values as rows, and :mod:`panoworld.eval.report` aggregates them
    (means and 95 % CIs per split / scene / motion group), so there is no running mean here. Non-finite values
    are returned as they are (the CSV records ``nan``). Subclasses implement ``_evaluate(...)``.
    """

    def _evaluate(self, *args, **kwargs) -> dict[str, float]:
        raise NotImplementedError

    def update(self, *args, **kwargs) -> dict[str, float]:
        """The values of one clip, as Python floats."""
        return {k: float(v) for k, v in self._evaluate(*args, **kwargs).items()}


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
