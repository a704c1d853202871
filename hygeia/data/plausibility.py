"""Physiologic plausibility ranges, matched to columns by the words in their names.

Matching is conservative: a range applies only when a name token says what the column measures
(``age``, ``wtkg``, ``sbp``...) and no token says it is something else (another unit such as ``lb``
or ``months``, or a derived quantity such as ``change`` or ``z``). The ranges are wide on purpose:
they catch impossible values (an age of 250, a negative weight), not unusual ones.

>>> plausible_range("age_years")
PlausibleRange(measure='age', low=0.0, high=120.0, unit='years')
>>> plausible_range("age_months") is None
True
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from hygeia.data.schema import _name_tokens

# Tokens that make a column a derived quantity, which may leave the raw range (a change can be negative).
_DERIVED = frozenset({"change", "chg", "delta", "diff", "difference", "z", "zscore", "sd", "sds", "log", "ln", "log10",
                      "ratio", "pct", "percent", "percentile", "pctl", "rank", "residual", "std", "standardized",
                      "scaled", "norm", "normalized", "centered", "lag", "slope", "per", "group", "grp", "cat",
                      "band", "category", "class"})


@dataclass(frozen=True)
class PlausibleRange:
    """Bounds (inclusive) a measured value cannot leave; ``None`` means unbounded on that side."""

    measure: str
    low: float | None
    high: float | None
    unit: str


@dataclass(frozen=True)
class _Rule:
    range: PlausibleRange
    words: frozenset[str] = frozenset()  # any one of these tokens matches
    pairs: tuple[frozenset[str], ...] = ()  # or all tokens of one pair
    alone: frozenset[str] = frozenset()  # or the whole name is this one token (too ambiguous inside longer names)
    pattern: re.Pattern[str] | None = None  # or a token matching this
    other_units: frozenset[str] = frozenset()


def _rule(measure, low, high, unit, words=(), pairs=(), alone=(), pattern=None, other_units=()) -> _Rule:
    bounds = PlausibleRange(measure, float(low), None if high is None else float(high), unit)
    return _Rule(bounds, frozenset(words), tuple(frozenset(p) for p in pairs), frozenset(alone),
                 re.compile(pattern) if pattern else None, frozenset(other_units))


RULES: tuple[_Rule, ...] = (
    _rule("age", 0, 120, "years", words={"age", "ageyears", "ageyrs"},
          other_units={"months", "month", "mo", "mos", "days", "day", "weeks", "week", "wk", "wks", "hours", "hrs",
                       "gestational", "ga", "bone"}),
    _rule("weight", 0.2, 400, "kg", words={"weight", "wtkg", "weightkg", "bodyweight"}, pairs=[{"wt", "kg"}],
          other_units={"lb", "lbs", "pound", "pounds", "g", "gram", "grams", "oz", "mg", "molecular", "dose"}),
    _rule("height", 20, 260, "cm", words={"height", "htcm", "heightcm"}, pairs=[{"ht", "cm"}],
          other_units={"m", "in", "inch", "inches", "ft", "feet", "mm", "fundal"}),
    _rule("heart rate", 0, 300, "beats/min", words={"heartrate", "pulse", "pulserate"},
          pairs=[{"heart", "rate"}, {"hr", "bpm"}], alone={"hr"},
          other_units={"pressure", "variability", "hrv", "ox", "oximetry", "wave", "width"}),
    _rule("systolic blood pressure", 0, 300, "mmHg", words={"sbp", "systolic", "sysbp"}, pairs=[{"sys", "bp"}]),
    _rule("diastolic blood pressure", 0, 200, "mmHg", words={"dbp", "diastolic", "diabp", "diasbp"},
          pairs=[{"dia", "bp"}]),
    _rule("body temperature", 25, 45, "°C", words={"temp", "temperature", "tempc", "temperaturec", "bodytemp"},
          other_units={"f", "fahrenheit", "k", "kelvin", "room", "ambient", "storage", "fridge", "freezer", "skin"}),
    _rule("oxygen saturation", 0, 100, "%", words={"spo2", "sao2", "o2sat", "oxygensaturation"},
          pairs=[{"o2", "sat"}, {"o2", "saturation"}, {"oxygen", "saturation"}, {"sp", "o2"}, {"sa", "o2"}]),
    _rule("BMI", 5, 100, "kg/m²", words={"bmi"}),
    # Cell and lab counts (CD4, CD8, white cells, platelets) cannot be negative.
    _rule("a count", 0, None, "", words={"count", "counts", "wbc", "rbc", "plt", "platelet", "platelets", "anc", "alc"},
          pattern=r"^cd\d+[a-z]*$"),
)


def plausible_range(column: str) -> PlausibleRange | None:
    """The plausibility range that applies to a column name, or None when no rule matches it safely."""
    tokens = _name_tokens(column)
    if tokens & _DERIVED:
        return None
    for rule in RULES:
        if tokens & rule.other_units:
            continue
        if (tokens & rule.words or any(pair <= tokens for pair in rule.pairs) or tokens and tokens <= rule.alone
                or (rule.pattern is not None and any(rule.pattern.match(t) for t in tokens))):
            return rule.range
    return None
