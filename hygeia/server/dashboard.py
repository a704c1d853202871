"""The measures by which a hospital judges the tool, from the stored artifacts and reviews (no I/O here).

Per period (ISO week or day) and per artifact kind: how often reviewers approve (an edit counts as an
approval of the edited text), how much they had to change the drafts they approved, which gate metrics fail,
and how useful and trustworthy reviewers rated the artifacts.

>>> board = build(store.list_artifacts(), store.all_reviews(), period="week")  # doctest: +SKIP
>>> [(row.period, row.kind, row.approval_rate) for row in board.rows]  # doctest: +SKIP
[('2026-W48', 'clinical_text', 0.75)]
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import datetime
from statistics import fmean, median
from typing import Iterable, Literal

from hygeia.store.db import ArtifactRecord, ReviewRecord

Period = Literal["week", "day"]
PERIODS: tuple[Period, ...] = ("week", "day")
#: Kinds a reviewer can edit in place; for the others an "edit distance" would be a meaningless 0.
EDITABLE_KINDS = frozenset({"clinical_text"})


@dataclass(frozen=True)
class Measures:
    """One group of decisions (a period and a kind, or a kind over all time)."""

    period: str
    kind: str
    created: int  # artifacts generated in the period
    gate_failed: int  # of those, how many the gate failed as generated (before any reviewer's edit)
    decided: int
    approved: int
    edited: int
    rejected: int
    chars_changed: tuple[int, ...]  # per approved draft (0 when approved as drafted); empty if not editable
    usefulness: tuple[int, ...]
    trust: tuple[int, ...]

    @property
    def approval_rate(self) -> float | None:
        """(approved + edited) / decided; None when nothing was decided (not 0: nothing was measured)."""
        return (self.approved + self.edited) / self.decided if self.decided else None

    @property
    def mean_chars_changed(self) -> float | None:
        return fmean(self.chars_changed) if self.chars_changed else None

    @property
    def median_chars_changed(self) -> float | None:
        return float(median(self.chars_changed)) if self.chars_changed else None

    @property
    def mean_usefulness(self) -> float | None:
        return fmean(self.usefulness) if self.usefulness else None

    @property
    def mean_trust(self) -> float | None:
        return fmean(self.trust) if self.trust else None


@dataclass(frozen=True)
class MetricFailures:
    """How often one gate metric failed among the artifacts of one kind that were scored on it."""

    metric: str
    kind: str
    failed: int
    scored: int

    @property
    def share(self) -> float:
        return self.failed / self.scored if self.scored else 0.0


@dataclass(frozen=True)
class Dashboard:
    period: Period
    rows: tuple[Measures, ...]  # per period and kind, oldest period first
    kinds: tuple[Measures, ...]  # per kind over all time
    failures: tuple[MetricFailures, ...]  # most failures first


def period_of(timestamp: str, period: Period = "week") -> str:
    """``2026-W48`` (ISO week) or ``2026-11-24`` for an ISO timestamp."""
    when = datetime.fromisoformat(timestamp)
    if period == "day":
        return when.date().isoformat()
    year, week, _ = when.isocalendar()
    return f"{year}-W{week:02d}"


def chars_changed(diff: str) -> int:
    """Characters a reviewer changed, from the unified diff stored with an edit.

    The removed and added lines of each hunk are compared character by character (difflib), so re-typing a
    dose ``200`` as ``100`` counts 1, not the length of the whole line.
    """
    removed: list[str] = []
    added: list[str] = []
    in_hunk = False
    for line in diff.splitlines():
        if line.startswith("@@"):
            in_hunk = True  # headers ("--- a", "+++ b") come before the first hunk only
        elif in_hunk and line.startswith("-"):
            removed.append(line[1:])
        elif in_hunk and line.startswith("+"):
            added.append(line[1:])
    # Each line keeps its break, so deleting a whole line counts the break too.
    before, after = "".join(f"{line}\n" for line in removed), "".join(f"{line}\n" for line in added)
    matcher = difflib.SequenceMatcher(None, before, after, autojunk=False)
    return sum(max(i2 - i1, j2 - j1) for op, i1, i2, j1, j2 in matcher.get_opcodes() if op != "equal")


def build(artifacts: Iterable[ArtifactRecord], reviews: Iterable[ReviewRecord], *,
          period: Period = "week") -> Dashboard:
    """The dashboard over all ``artifacts`` and their ``reviews`` (reviews of unknown artifacts are skipped)."""
    if period not in PERIODS:
        raise ValueError(f"period must be one of {PERIODS}, got {period!r}")
    artifacts = list(artifacts)
    kind_of = {a.id: a.kind for a in artifacts}
    reviews = [r for r in reviews if r.artifact_id in kind_of]
    keyed_artifacts = [((period_of(a.created_at, period), a.kind), a) for a in artifacts]
    keyed_reviews = [((period_of(r.created_at, period), kind_of[r.artifact_id]), r) for r in reviews]
    keys = sorted({k for k, _ in keyed_artifacts} | {k for k, _ in keyed_reviews})
    rows = tuple(_measures(p, kind, [a for k, a in keyed_artifacts if k == (p, kind)],
                           [r for k, r in keyed_reviews if k == (p, kind)]) for p, kind in keys)
    kinds = tuple(_measures("all", kind, [a for a in artifacts if a.kind == kind],
                            [r for r in reviews if kind_of[r.artifact_id] == kind])
                  for kind in sorted({a.kind for a in artifacts}))
    return Dashboard(period=period, rows=rows, kinds=kinds, failures=metric_failures(artifacts))


def metric_failures(artifacts: Iterable[ArtifactRecord]) -> tuple[MetricFailures, ...]:
    """Failed gated metrics per metric name and kind, over the artifacts' stored scorecards.

    Only metrics the gate judged count as scored (``passed`` is True or False); a metric the policy does not
    gate, or that does not apply, is neither a pass nor a failure.
    """
    counts: dict[tuple[str, str], list[int]] = {}
    for artifact in artifacts:
        for metric in artifact.record.get("scorecard", {}).get("metrics", []):
            if metric.get("passed") is None:
                continue
            tally = counts.setdefault((metric["name"], artifact.kind), [0, 0])
            tally[0] += metric["passed"] is False
            tally[1] += 1
    rows = [MetricFailures(name, kind, failed, scored) for (name, kind), (failed, scored) in counts.items()]
    return tuple(sorted(rows, key=lambda m: (-m.failed, m.kind, m.metric)))


def _measures(period: str, kind: str, artifacts: list[ArtifactRecord], reviews: list[ReviewRecord]) -> Measures:
    decisions = [r.decision for r in reviews]
    approvals = [r for r in reviews if r.decision in ("approve", "edit")]
    changed = tuple(chars_changed(r.diff) if r.decision == "edit" else 0 for r in approvals) \
        if kind in EDITABLE_KINDS else ()
    return Measures(
        period=period, kind=kind, created=len(artifacts), gate_failed=sum(not _generated_pass(a) for a in artifacts),
        decided=len(reviews), approved=decisions.count("approve"), edited=decisions.count("edit"),
        rejected=decisions.count("reject"), chars_changed=changed,
        usefulness=tuple(r.usefulness for r in reviews if r.usefulness is not None),
        trust=tuple(r.trust for r in reviews if r.trust is not None))


def _generated_pass(artifact: ArtifactRecord) -> bool:
    """The gate's verdict on what the tool generated: an edit re-gates the text and updates ``gate_passed``,
    but judging the tool needs the verdict before a person fixed it."""
    return bool(artifact.record.get("verdict", {}).get("passed", artifact.gate_passed))
