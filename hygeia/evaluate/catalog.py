"""Names of every metric the evaluation can produce, so a policy can be checked for typos."""

from __future__ import annotations

TABLE_METRIC_NAMES: tuple[str, ...] = (
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
#: Metrics of a clinical text draft (:mod:`hygeia.text.scoring`).
TEXT_METRIC_NAMES: tuple[str, ...] = (
    "grounding.supported_share",
    "grounding.unsupported_sentences",
    "grounding.critical_unsupported",
    "safety.allergy_conflicts",
    "safety.missing_medications",
    "safety.abnormal_without_follow_up",
    "readability.grade",
    "readability.grade_over_target",
)
#: Metrics of a synthetic cohort of patient histories (:mod:`hygeia.evaluate.longitudinal`, then the FHIR export's
#: validity from :mod:`hygeia.governance.fhir_cohort`). Spelt out here so a policy loads without the evaluators.
COHORT_METRIC_NAMES: tuple[str, ...] = (
    "fidelity.events_per_patient",
    "fidelity.time_gaps",
    "fidelity.code_frequency",
    "fidelity.cooccurrence",
    "fidelity.lab_values",
    "fidelity.age_at_first_diagnosis",
    "fidelity.temporal_overall",
    "utility.next_event_tstr",
    "utility.next_event_trtr",
    "utility.next_event_ratio",
    "privacy.dcr_share_closer_to_train",
    "privacy.exact_trajectory_copies",
    "privacy.rare_code_leakage",
    "fairness.min_representation_ratio",
    "fairness.worst_group_fidelity_gap",
    "plausibility.violations_per_1000",
    "validity.fhir_valid_share",
)
#: Metric families of synthetic tables, then of clinical text, then those only cohorts have.
TABLE_FAMILIES: tuple[str, ...] = ("fidelity", "utility", "privacy", "fairness")
TEXT_FAMILIES: tuple[str, ...] = ("grounding", "safety", "readability")
COHORT_FAMILIES: tuple[str, ...] = ("plausibility", "validity")
METRIC_NAMES: tuple[str, ...] = tuple(dict.fromkeys(TABLE_METRIC_NAMES + TEXT_METRIC_NAMES + COHORT_METRIC_NAMES))
FAMILIES: tuple[str, ...] = TABLE_FAMILIES + TEXT_FAMILIES + COHORT_FAMILIES
