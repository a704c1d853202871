"""Score a synthetic table against its real source: fidelity, utility, privacy, fairness.

>>> from hygeia.evaluate import evaluate_synthetic
>>> card = evaluate_synthetic(train, holdout, synthetic, schema, target="cens")  # doctest: +SKIP
"""

from hygeia.evaluate.evaluator import evaluate_synthetic
from hygeia.evaluate.metric import Goal, Metric, Scorecard

__all__ = ["Goal", "Metric", "Scorecard", "evaluate_synthetic"]
