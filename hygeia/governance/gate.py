"""`Gate`: Policy x Scorecard -> Verdict, with one reason per failure.

The gate fails closed: a gated metric that could not be computed fails, a required
family that was not measured fails, and a blocking data-quality finding fails.

>>> verdict = Gate(policy).check(artifact, scorecard)  # doctest: +SKIP
>>> verdict.passed, verdict.reasons  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hygeia.evaluate.metric import Scorecard
from hygeia.governance.artifact import Artifact
from hygeia.governance.policy import Policy


@dataclass(frozen=True)
class Verdict:
    """The gate's decision; ``scorecard`` carries each metric's threshold and pass/fail."""

    passed: bool
    reasons: list[str]
    scorecard: Scorecard
    policy: str
    policy_sha256: str
    gated: int = 0
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"passed": self.passed, "reasons": self.reasons, "policy": self.policy,
                "policy_sha256": self.policy_sha256, "gated_metrics": self.gated, "notes": self.notes}


class Gate:
    """Judges an artifact's scorecard against a :class:`Policy`."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy

    def check(self, artifact: Artifact, scorecard: Scorecard) -> Verdict:
        policy = self.policy
        scored = scorecard.with_thresholds(policy.thresholds)
        reasons: list[str] = []
        notes: list[str] = []
        gated = 0
        for metric in scored:
            if metric.threshold is None:
                continue
            if not metric.applicable:
                if metric.family in policy.require:
                    reasons.append(f"{metric.family} is required by the policy but was not measured: "
                                   f"{metric.detail.get('reason', 'not applicable')}")
                else:
                    notes.append(f"{metric.name} not gated: {metric.detail.get('reason', 'not applicable')}")
                continue
            gated += 1
            if not metric.passed:
                reasons.append(metric.reason())
        for name in policy.thresholds:
            if name not in scored and name.split(".")[0] in policy.require:
                reasons.append(f"{name} is required by the policy but was not measured")
        for family in policy.require:
            if not any(m.family == family and m.applicable for m in scored):
                reason = f"{family} is required by the policy but was not measured"
                if not any(r.startswith(family) for r in reasons):
                    reasons.append(reason)
        for finding in artifact.findings:
            if finding["check"] in policy.blocking_checks and finding["severity"] in ("warning", "error"):
                reasons.append(f"blocking data-quality finding ({finding['check']}): {finding['message']}")
        reasons.extend(self._privacy_budget(artifact))
        return Verdict(passed=not reasons, reasons=_unique(reasons), scorecard=scored, policy=policy.name,
                       policy_sha256=policy.digest(), gated=gated, notes=notes)

    def _privacy_budget(self, artifact: Artifact) -> list[str]:
        limit = self.policy.max_epsilon
        if limit is None:
            return []
        spent = artifact.privacy_spent
        if not spent:
            return [f"the policy requires differential privacy (epsilon <= {limit:g}) but the generator "
                    f"{artifact.provenance.get('generator', '?')!r} is not differentially private"]
        if spent["epsilon"] > limit:
            return [f"privacy budget spent epsilon = {spent['epsilon']:.3g} exceeds the policy's {limit:g}"]
        return []


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))
