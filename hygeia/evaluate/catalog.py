"""Names of every metric the evaluation can produce, so a policy can be checked for typos."""

from __future__ import annotations

METRIC_NAMES: tuple[str, ...] = (
    "fidelity.column_shapes",
    "fidelity.pair_trends",
    "fidelity.dependence",
    "fidelity.missingness",
    "fidelity.overall",
    "fidelity.detection_auc",
    "utility.tstr",
    "utility.trtr",
    "utility.baseline",
    "utility.tstr_trtr_ratio",
    "utility.lift_over_baseline",
    "privacy.exact_copy_rate",
    "privacy.dcr_share_closer_to_train",
    "privacy.dcr_ratio",
    "privacy.mia_auc",
    "fairness.min_representation_ratio",
    "fairness.worst_group_fidelity_gap",
    "fairness.worst_group_utility_gap",
)
FAMILIES: tuple[str, ...] = ("fidelity", "utility", "privacy", "fairness")
