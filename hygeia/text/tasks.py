"""The clinical drafting tasks: which prompt template, which defaults, what is measured on the result.

- ``discharge-summary``: reason for admission, hospital course, discharge medications, follow-up.
- ``note-summary``: a short summary of a clinical note or a doctor-patient conversation.
- ``patient-education``: a plain-language sheet at a target reading grade (``target_grade``, default 6);
  the Flesch-Kincaid grade of the result is measured with textstat and returned in the draft's metrics,
  so the gate can compare ``reading_grade`` with ``target_grade``.

>>> task = get_task("patient-education")
>>> task.template, task.defaults["target_grade"]
('patient_education', 6)
>>> sheet = "What happened:\\nYou had a chest infection. We gave you medicine."
>>> task.measure(sheet, task.defaults)["reading_grade"] < 6
True
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from textstat.textstat import textstatistics

from hygeia.errors import TextError
from hygeia.text.backends.extractive import headings


def body_text(text: str) -> str:
    """``text`` without its section-heading lines (a heading is no sentence a reader reads)."""
    spans = [(start, end) for start, end, _title in headings(text)]
    kept, last = [], 0
    for start, end in spans:
        kept.append(text[last:start])
        last = end
    kept.append(text[last:])
    return "\n".join(line.strip() for line in "".join(kept).splitlines() if line.strip())


@lru_cache(maxsize=1)
def _readability() -> Any:
    # textstat's English locale ("en_US") looks syllables up in NLTK's CMU dictionary and downloads it at run time
    # when missing (and the only PyPI copy is GPL). The BCP-47 spelling "en-US" selects the same English
    # hyphenation dictionary in pyphen (LGPL/MPL) and counts syllables offline; words are counted alike.
    stats = textstatistics()  # a private instance: the module-level one is shared state
    stats.set_lang("en-US")
    return stats


def reading_grade(text: str) -> float:
    """US school grade needed to read ``text`` (Flesch-Kincaid), headings left out; NaN for empty text."""
    body = body_text(text)
    if not body.strip():
        return float("nan")
    # Each line is a sentence for the reader even when the writer left off the full stop (lists, headings).
    lines = [line if line.rstrip()[-1:] in ".!?" else f"{line.rstrip()}." for line in body.splitlines()]
    return float(_readability().flesch_kincaid_grade(" ".join(lines)))


def _no_metrics(text: str, options: Mapping[str, Any]) -> dict[str, float]:
    return {}


def _education_metrics(text: str, options: Mapping[str, Any]) -> dict[str, float]:
    return {"reading_grade": round(reading_grade(text), 2), "target_grade": float(options["target_grade"])}


@dataclass(frozen=True)
class Task:
    """A drafting task: its prompt template, option defaults, and the measurements taken on the result."""

    name: str
    template: str
    summary: str
    max_tokens: int
    defaults: Mapping[str, Any] = field(default_factory=dict)
    measure: Callable[[str, Mapping[str, Any]], dict[str, float]] = _no_metrics

    def options(self, given: Mapping[str, Any]) -> dict[str, Any]:
        """The task options: defaults overridden by ``given``; unknown names are an error."""
        unknown = sorted(set(given) - set(self.defaults))
        if unknown:
            known = ", ".join(sorted(self.defaults)) or "none"
            raise TextError(f"task {self.name!r} takes no option {unknown[0]!r}; its options: {known}")
        return {**self.defaults, **given}


def _check_grade(options: dict[str, Any]) -> dict[str, Any]:
    grade = options.get("target_grade")
    if not isinstance(grade, int | float) or isinstance(grade, bool) or not 1 <= grade <= 16:
        raise TextError(f"target_grade must be a school grade between 1 and 16, got {grade!r}; e.g. target_grade=6")
    return options


TASKS: dict[str, Task] = {
    task.name: task
    for task in (
        Task("discharge-summary", "discharge_summary",
             "reason for admission, hospital course, discharge medications, follow-up", 700),
        Task("note-summary", "note_summary", "short summary of a clinical note or a doctor-patient conversation", 300),
        Task("patient-education", "patient_education", "plain-language sheet for the patient at a target reading grade",
             600, {"target_grade": 6}, _education_metrics),
    )
}
_VALIDATE: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {"patient-education": _check_grade}


def get_task(name: str) -> Task:
    """The task called ``name`` (``discharge_summary`` and ``discharge-summary`` both work)."""
    key = name.strip().lower().replace("_", "-")
    if key not in TASKS:
        raise TextError(f"unknown drafting task {name!r}; choose one of: {', '.join(TASKS)}")
    return TASKS[key]


def task_options(task: Task, given: Mapping[str, Any]) -> dict[str, Any]:
    """Validated options for ``task``."""
    options = task.options(given)
    return _VALIDATE.get(task.name, lambda o: o)(options)
