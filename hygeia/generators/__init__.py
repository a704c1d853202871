"""Tabular generators behind one contract; importing this package fills the registry.

Every module in this package is imported here, so a new family registers itself just by
living in its own module with ``@register`` on its class.

>>> from hygeia.generators import make_generator
>>> sorted(REGISTRY)
['autoregressive', 'diffusion', 'flow', 'gan', 'gaussian_copula', 'independent_marginals', 'vae']
"""

import importlib
import pkgutil

from hygeia.generators.base import REGISTRY, Generator, make_generator, register

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["Generator", "REGISTRY", "make_generator", "register"]
