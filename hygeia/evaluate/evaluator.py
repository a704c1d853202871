"""`evaluate_synthetic`: score a synthetic table against its real source in one call.

>>> card = evaluate_synthetic(train, holdout, synthetic, schema, target="cens",
...                           sensitive=["gender", "race", "age"])      # doctest: +SKIP
>>> card.value("fidelity.overall"), card.get("privacy.mia_auc").reference  # doctest: +SKIP

Thresholds are not applied here; the governance gate judges the scorecard against a policy.
"""

from __future__ import annotations

import difflib
from typing import Sequence

import pandas as pd

from hygeia.data.schema import Schema, coerce_frame
from hygeia.errors import EvaluationError
from hygeia.evaluate.encoding import Encoding
from hygeia.evaluate.fairness import fairness_metrics
from hygeia.evaluate.fidelity import fidelity_metrics
from hygeia.evaluate.metric import Scorecard
from hygeia.evaluate.privacy import privacy_metrics
from hygeia.evaluate.utility import UtilityRun, run_utility, utility_metrics

#: Fewer holdout rows than this make holdout-based scores (ceilings, utility, privacy) noise.
MIN_HOLDOUT_ROWS = 20


def evaluate_synthetic(
    train: pd.DataFrame,
    holdout: pd.DataFrame | None,
    synthetic: pd.DataFrame,
    schema: Schema,
    *,
    target: str | None = None,
    sensitive: Sequence[str] = (),
    seed: int = 0,
) -> Scorecard:
    """Fidelity, utility, privacy and fairness metrics of ``synthetic``.

    ``train`` holds the real rows the generator learned from, ``holdout`` real rows it never
    saw (None disables the metrics that need them: they come back NaN with a reason).
    Columns of the schema's modelled kinds that ``train`` has are compared; a column the
    synthetic table lacks scores 0 in fidelity and is named in the metrics' detail.
    """
    sensitive = [sensitive] if isinstance(sensitive, str) else list(dict.fromkeys(sensitive))
    columns = [c for c in schema.modelled if c in train.columns]
    if len(synthetic) == 0:
        raise EvaluationError("the synthetic table has no rows; sample at least one row before evaluating")
    if len(train) == 0:
        raise EvaluationError("the real train table has no rows; give the rows the generator was fitted on")
    if not columns:
        raise EvaluationError("the real table has none of the schema's modelled columns; check the schema matches it")
    if not any(c in synthetic.columns for c in columns):
        raise EvaluationError(f"the synthetic table shares no column with the real one ({_list(columns)}); "
                              "give it the real column names")
    roles = ([("target", target)] if target is not None else []) + [("sensitive", s) for s in sensitive]
    for role, name in roles:
        if name not in columns:
            raise EvaluationError(f"unknown {role} column {name!r}{_did_you_mean(name, columns)}")
    if holdout is not None:
        lacking = [c for c in columns if c not in holdout.columns]
        if lacking:
            raise EvaluationError(f"the holdout lacks column {lacking[0]!r}; give a holdout with the real columns")

    train, synthetic = _prepare(train, columns, schema), _prepare(synthetic, columns, schema)
    holdout_reason = "no holdout given; pass real rows the generator never saw"
    if holdout is not None and len(holdout) < MIN_HOLDOUT_ROWS:
        holdout_reason = f"the holdout has only {len(holdout)} rows; at least {MIN_HOLDOUT_ROWS} are needed"
        holdout = None
    holdout = _prepare(holdout, columns, schema) if holdout is not None else None
    enc = Encoding.fit(train, schema, columns)

    run: UtilityRun | str | None = None
    if target is not None:
        run = run_utility(train, holdout, synthetic, enc, target, seed=seed) if holdout is not None else holdout_reason
    if target is None:
        utility = utility_metrics(None, reason="no target column given", applicable=False)
    elif isinstance(run, str):
        utility = utility_metrics(None, reason=run)
    else:
        utility = utility_metrics(run)
    return Scorecard(tuple([
        *fidelity_metrics(train, holdout, synthetic, enc, seed=seed, holdout_reason=holdout_reason),
        *utility,
        *privacy_metrics(train, holdout, synthetic, enc, seed=seed, holdout_reason=holdout_reason),
        *fairness_metrics(train, holdout, synthetic, enc, sensitive, run=run, seed=seed,
                          holdout_reason=holdout_reason),
    ]))


def _prepare(frame: pd.DataFrame, columns: list[str], schema: Schema) -> pd.DataFrame:
    """The modelled columns the frame has, parsed to the schema's types, indexed 0..n-1."""
    present = [c for c in columns if c in frame.columns]
    return coerce_frame(frame[present], schema.subset(present)).reset_index(drop=True)


def _did_you_mean(name: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(str(name), choices, n=1)
    return f" (did you mean {close[0]!r}?)" if close else f"; the modelled columns are {_list(choices)}"


def _list(names: list[str], limit: int = 12) -> str:
    return ", ".join(names[:limit]) + (", ..." if len(names) > limit else "")
