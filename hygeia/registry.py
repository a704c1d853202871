"""Building plug-ins by name from a registry (``dict`` name -> class), with one-line errors that suggest a fix."""

from __future__ import annotations

import difflib
from typing import Any

from hygeia.errors import HygeiaError


def build_registered(registry: dict[str, type], name: str, params: dict[str, Any], label: str,
                     error: type[HygeiaError] = HygeiaError) -> Any:
    """Instantiate ``registry[name](**params)``; an unknown name or parameter raises ``error`` in one line.

    >>> build_registered({"a": dict}, "b", {}, "widget")
    Traceback (most recent call last):
    hygeia.errors.HygeiaError: unknown widget 'b'; choose one of: a
    """
    try:
        cls = registry[name]
    except KeyError:
        close = difflib.get_close_matches(name, list(registry), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise error(f"unknown {label} {name!r}{hint}; choose one of: {', '.join(sorted(registry))}") from None
    try:
        return cls(**params)
    except TypeError as exc:
        raise error(f"{label} {name!r}: {exc}") from None
