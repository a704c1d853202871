"""LLM backends behind one interface: an OpenAI-compatible HTTP client, a local Gemma model, and the extractive
fallback (no model). Build one by name; the registry is filled at import.

>>> from hygeia.text.backends import REGISTRY, make_backend
>>> sorted(REGISTRY)
['extractive', 'local', 'openai']
>>> make_backend("extractive").describe()
{'backend': 'extractive', 'model': 'extractive-tfidf/1', 'external': False}
"""

from hygeia.text.backends import extractive, local, openai  # noqa: F401  (importing fills the registry)
from hygeia.text.backends.base import REGISTRY, Backend, Completion, Message, make_backend, register

__all__ = ["REGISTRY", "Backend", "Completion", "Message", "make_backend", "register"]
