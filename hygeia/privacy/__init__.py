"""Privacy steps: consent (opt-out) before fitting, identifier handling before release, text
de-identification, and differential-privacy accounting.

Text de-identification loads spaCy and Presidio, so it is imported on first use:
``from hygeia.privacy import deidentify`` works, and ``import hygeia.privacy`` stays fast.
"""

from __future__ import annotations

import importlib
from typing import Any

from hygeia.privacy.consent import ConsentResult, apply_opt_out, canonical_id, load_opt_out
from hygeia.privacy.identifiers import IdentifierAction, apply_identifier_plan, plan_identifiers
from hygeia.privacy.phi import DeidResult, PhiCategory, PhiSpan

#: Public names that live in the de-identification package, imported lazily.
_LAZY = {"detect_phi": "hygeia.privacy.deid", "deidentify": "hygeia.privacy.deid"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["ConsentResult", "DeidResult", "IdentifierAction", "PhiCategory", "PhiSpan", "apply_identifier_plan",
           "apply_opt_out", "canonical_id", "deidentify", "detect_phi", "load_opt_out", "plan_identifiers"]
