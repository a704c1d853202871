"""Score a synthetic table twice: with Hygeia's evaluator and with SDMetrics' QualityReport.

The QualityReport is the peers' own yardstick, run with the metadata SDV detects from the
train frame (what an SDV user gets), so the quality column is not a metric Hygeia chose.
"""

from __future__ import annotations

import math
import warnings
from functools import cache
from typing import Any

import pandas as pd

from bench import tables
from bench.methods import to_train_dtypes

#: Hygeia scorecard entries copied into the results (name in the scorecard -> column in results.csv).
HYGEIA_METRICS = (
    "fidelity.overall",
    "fidelity.detection_auc",
    "utility.tstr_trtr_ratio",
    "privacy.dcr_share_closer_to_train",
    "privacy.mia_auc",
    "fairness.worst_group_utility_gap",
)


@cache
def _sdmetrics_metadata(table: str, seed: int) -> dict[str, Any]:
    import sdv
    from sdv.metadata import Metadata

    _, train, _, _ = tables.split(table, seed)
    if int(sdv.__version__.split(".")[0]) >= 2:
        return Metadata.detect_from_dataframes({"table": train}).to_dict()["tables"]["table"]
    return Metadata.detect_from_dataframe(train, table_name="table").to_dict()["tables"]["table"]


def sdmetrics_quality(real: pd.DataFrame, synthetic: pd.DataFrame, metadata: dict[str, Any]) -> dict[str, float]:
    from sdmetrics.reports.single_table import QualityReport

    report = QualityReport()
    report.generate(real, synthetic, metadata, verbose=False)
    props = report.get_properties().set_index("Property")["Score"]
    return {"sdm.quality": float(report.get_score()),
            "sdm.column_shapes": float(props.get("Column Shapes", math.nan)),
            "sdm.column_pair_trends": float(props.get("Column Pair Trends", math.nan))}


def score(table: str, seed: int, synthetic: pd.DataFrame) -> dict[str, Any]:
    """Every number of one (table, seed, method) row; the synthetic frame is first given the train dtypes."""
    from hygeia.evaluate import evaluate_synthetic

    warnings.filterwarnings("ignore")
    spec = tables.TABLES[table]
    _, train, holdout, schema = tables.split(table, seed)
    synthetic = to_train_dtypes(synthetic, train)
    card = evaluate_synthetic(train, holdout, synthetic, schema, target=spec.target,
                              sensitive=list(spec.sensitive), seed=seed)
    row: dict[str, Any] = {name: card.value(name) if name in card else math.nan for name in HYGEIA_METRICS}
    # A metric that could not be computed is NaN with a reason: keep the reason beside the number.
    reasons = [f"{name}: {card.get(name).detail.get('reason', 'no reason given')}"
               for name in HYGEIA_METRICS if name in card and not card.get(name).computed]
    row["nan_reasons"] = "; ".join(reasons) or None
    overall = card.get("fidelity.overall")
    row["fidelity.overall_holdout_ceiling"] = overall.reference if overall.reference is not None else math.nan
    row.update(sdmetrics_quality(train, synthetic, _sdmetrics_metadata(table, seed)))
    return row


def score_holdout(table: str, seed: int) -> dict[str, float]:
    """The ceiling: SDMetrics quality of the real holdout against the real train rows."""
    warnings.filterwarnings("ignore")
    _, train, holdout, _ = tables.split(table, seed)
    return sdmetrics_quality(train, holdout, _sdmetrics_metadata(table, seed))
