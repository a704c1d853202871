"""Tabular generators behind one contract; importing this package fills the registry.

>>> from hygeia.generators import make_generator
>>> sorted(REGISTRY)[:2]
['gaussian_copula', 'independent_marginals']
"""

from hygeia.generators import copula, independent  # noqa: F401  (registers the generators)
from hygeia.generators.base import REGISTRY, Generator, make_generator, register

__all__ = ["Generator", "REGISTRY", "make_generator", "register"]
