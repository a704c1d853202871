"""`Metric` and `Scorecard`: the typed results every evaluation returns.

Following SDMetrics, each metric declares its goal and range so the gate, the report and
the model card treat all metrics alike. A metric that cannot be computed has value NaN and
says why in ``detail["reason"]``: never 0, which would read as a measurement.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Any, Iterable, Iterator


class Goal(StrEnum):
    MAXIMIZE = "maximize"
    MINIMIZE = "minimize"


@dataclass(frozen=True)
class Metric:
    """One measured number with its meaning, optional gate threshold and outcome.

    ``reference`` is the number to read the value against (the ceiling a real holdout
    reaches, or a trivial baseline) and ``reference_label`` says which.
    ``applicable`` is False when the metric does not apply (no target column given); it is
    then NaN but not a failure to measure.
    """

    name: str
    value: float
    goal: Goal
    min_value: float = 0.0
    max_value: float = 1.0
    description: str = ""
    reference: float | None = None
    reference_label: str = ""
    threshold: float | None = None
    passed: bool | None = None
    applicable: bool = True
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def family(self) -> str:
        """``fidelity`` for ``fidelity.overall``."""
        return self.name.split(".", 1)[0]

    @property
    def computed(self) -> bool:
        return not math.isnan(self.value)

    def normalize(self) -> float:
        """Map the value to [0, 1] with 1 best (NaN stays NaN)."""
        if not self.computed:
            return math.nan
        lo, hi = self.min_value, self.max_value
        if math.isinf(lo) or math.isinf(hi) or hi == lo:
            return self.value
        scaled = (min(max(self.value, lo), hi) - lo) / (hi - lo)
        return scaled if self.goal is Goal.MAXIMIZE else 1.0 - scaled

    def with_threshold(self, threshold: float | None) -> Metric:
        """Judge against a threshold: a minimum when maximizing, a maximum when minimizing."""
        if threshold is None:
            return replace(self, threshold=None, passed=None)
        if not self.applicable:  # nothing to judge (e.g. no target column): neither a pass nor a failure
            return replace(self, threshold=threshold, passed=None)
        if not self.computed:
            return replace(self, threshold=threshold, passed=False)
        ok = self.value >= threshold if self.goal is Goal.MAXIMIZE else self.value <= threshold
        return replace(self, threshold=threshold, passed=bool(ok))

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["goal"] = self.goal.value
        data["value"] = None if not self.computed else self.value
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Metric:
        data = dict(data)
        data["goal"] = Goal(data["goal"])
        data["value"] = math.nan if data["value"] is None else float(data["value"])
        return cls(**data)

    def reason(self) -> str:
        """Why the metric failed, in words a steward can act on."""
        if not self.computed:
            return f"{self.name} could not be computed: {self.detail.get('reason', 'no reason given')}"
        sign = ">=" if self.goal is Goal.MAXIMIZE else "<="
        return f"{self.name} = {self.value:.3f}, required {sign} {self.threshold:g}"


@dataclass(frozen=True)
class Scorecard:
    """An ordered list of metrics with lookup and (de)serialisation."""

    metrics: tuple[Metric, ...] = ()

    def __iter__(self) -> Iterator[Metric]:
        return iter(self.metrics)

    def __len__(self) -> int:
        return len(self.metrics)

    def __contains__(self, name: object) -> bool:
        return any(m.name == name for m in self.metrics)

    def get(self, name: str) -> Metric:
        for metric in self.metrics:
            if metric.name == name:
                return metric
        raise KeyError(name)

    def value(self, name: str) -> float:
        return self.get(name).value if name in self else math.nan

    def family(self, family: str) -> list[Metric]:
        return [m for m in self.metrics if m.family == family]

    def extend(self, metrics: Iterable[Metric]) -> Scorecard:
        return Scorecard(self.metrics + tuple(metrics))

    def with_thresholds(self, thresholds: dict[str, float]) -> Scorecard:
        return Scorecard(tuple(m.with_threshold(thresholds.get(m.name)) for m in self.metrics))

    def to_dict(self) -> dict[str, Any]:
        return {"metrics": [m.to_dict() for m in self.metrics]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Scorecard:
        return cls(tuple(Metric.from_dict(m) for m in data["metrics"]))

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2, default=_json_default), encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> Scorecard:
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))


def _json_default(obj: Any) -> Any:
    if hasattr(obj, "item"):
        return obj.item()
    if isinstance(obj, float) and math.isnan(obj):
        return None
    return str(obj)
