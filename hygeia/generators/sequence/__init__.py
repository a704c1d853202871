"""Sequence generators: learn longitudinal patient histories (a `Cohort`) and sample new ones.

Kept apart from the table registry (:data:`hygeia.generators.REGISTRY`): a sequence model
learns from and samples a :class:`~hygeia.data.longitudinal.Cohort`, not a table. Importing this
package fills :data:`SEQUENCE_REGISTRY`.

>>> from hygeia.generators.sequence import make_sequence_generator
>>> sorted(SEQUENCE_REGISTRY)
['markov', 'sequence_gru']
>>> gen = make_sequence_generator("markov").fit(cohort)  # doctest: +SKIP
>>> synthetic = gen.sample(500, seed=0)                  # doctest: +SKIP
"""

from hygeia.generators.sequence import gru, markov  # noqa: F401  (registers the families)
from hygeia.generators.sequence.base import (
    SEQUENCE_REGISTRY,
    SequenceGenerator,
    make_sequence_generator,
    register_sequence,
)
from hygeia.generators.sequence.tokens import Tokenizer

__all__ = ["SEQUENCE_REGISTRY", "SequenceGenerator", "Tokenizer", "make_sequence_generator", "register_sequence"]
