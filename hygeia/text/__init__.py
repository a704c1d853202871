"""Clinical text: LLM backends behind one interface, clinical drafting tasks, and the grounding check
that ties every drafted sentence to the source record.

Grounding loads a sentence-embedding model and drafting may load an LLM, so the public names are imported on
first use: ``from hygeia.text import check_grounding`` works, and ``import hygeia.text`` stays fast.
"""

from __future__ import annotations

import importlib
from typing import Any

#: Public names and the module each lives in, imported lazily.
_LAZY = {
    "check_grounding": "hygeia.text.grounding",
    "GroundingReport": "hygeia.text.grounding",
    "GroundingConfig": "hygeia.text.grounding",
    "SentenceCheck": "hygeia.text.grounding",
    "Evidence": "hygeia.text.grounding",
    "draft": "hygeia.text.drafting",
    "Draft": "hygeia.text.drafting",
    "check_flags": "hygeia.text.flags",
    "Flag": "hygeia.text.flags",
    "make_backend": "hygeia.text.backends",
    "Backend": "hygeia.text.backends",
    "get_task": "hygeia.text.tasks",
    "reading_grade": "hygeia.text.tasks",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = sorted(_LAZY)
