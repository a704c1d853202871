"""The scorecard of a clinical text draft: grounding, safety flags and readability, as gate-ready metrics.

Counts are metrics with goal "minimize" and no upper bound, so a policy threshold of 0 means "none
allowed". Readability applies only to tasks with a target reading grade.

>>> card = score_draft(draft, check_grounding(source, draft.text))  # doctest: +SKIP
>>> card.value("grounding.critical_unsupported")  # doctest: +SKIP
0.0
"""

from __future__ import annotations

import math

from hygeia.evaluate.metric import Goal, Metric, Scorecard
from hygeia.text.drafting import Draft
from hygeia.text.grounding import GroundingReport

_COUNT = {"goal": Goal.MINIMIZE, "min_value": 0.0, "max_value": math.inf}
#: Flag kind -> (metric name, description).
_FLAG_METRICS = {
    "allergy_conflict": ("safety.allergy_conflicts",
                         "Drugs in the draft that conflict with an allergy listed in the source"),
    "missing_medication": ("safety.missing_medications", "Medications in the source that the draft leaves out"),
    "abnormal_without_follow_up": ("safety.abnormal_without_follow_up",
                                   "Abnormal results in the source with no follow-up in the draft"),
}


def score_draft(draft: Draft, grounding: GroundingReport) -> Scorecard:
    """Metrics the gate judges for one draft (see ``hygeia/governance/policies/clinical-text.yaml``)."""
    unsupported = [i for i, s in enumerate(grounding.sentences) if not s.supported]
    metrics = [
        Metric("grounding.supported_share", grounding.supported_share, Goal.MAXIMIZE,
               description="Share of drafted sentences backed by the source (embeddings + lexical overlap)",
               detail={"sentences": len(grounding.sentences), "unsupported": unsupported}),
        Metric("grounding.unsupported_sentences", float(len(unsupported)), **_COUNT,
               description="Drafted sentences with no supporting source passage or a contradicted fact"),
        Metric("grounding.critical_unsupported", float(grounding.critical_count), **_COUNT,
               description="Drafted sentences with an unsupported critical fact (number, dose, date, drug, "
                           "laterality, negation)",
               detail={"sentences": [i for i, s in enumerate(grounding.sentences) if s.critical]}),
    ]
    for kind, (name, description) in _FLAG_METRICS.items():
        items = [f.item for f in draft.flags if f.kind == kind]
        metrics.append(Metric(name, float(len(items)), **_COUNT, description=description, detail={"items": items}))
    metrics += _readability(draft)
    return Scorecard(tuple(metrics))


def _readability(draft: Draft) -> list[Metric]:
    grade, target = draft.metrics.get("reading_grade"), draft.metrics.get("target_grade")
    if grade is None or target is None:
        why = {"reason": f"task {draft.task!r} has no target reading grade"}
        return [Metric("readability.grade", math.nan, Goal.MINIMIZE, 0.0, 20.0, applicable=False, detail=why),
                Metric("readability.grade_over_target", math.nan, Goal.MINIMIZE, -20.0, 20.0, applicable=False,
                       detail=why)]
    return [
        Metric("readability.grade", grade, Goal.MINIMIZE, 0.0, 20.0, reference=target, reference_label="target grade",
               description="US school grade needed to read the draft (Flesch-Kincaid, textstat)"),
        Metric("readability.grade_over_target", grade - target, Goal.MINIMIZE, -20.0, 20.0,
               description="Reading grade minus the task's target grade (at most 0 reads at or below it)"),
    ]
