"""The span type shared by PHI detection, replacement and evaluation.

Detection (recognizers) and transformation (operators) meet only here, as in Presidio: a
recognizer returns :class:`PhiSpan` objects, an operator replaces them, and the evaluator
compares them with a gold standard. Categories follow the 18 HIPAA Safe Harbor identifiers,
grouped the way i2b2-2014 annotators and hospital reviewers count them.

>>> span = PhiSpan(11, 21, PhiCategory.NAME, "John Smith")
>>> span.category.value, span.end - span.start
('NAME', 10)
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum


class PhiCategory(StrEnum):
    """What kind of identifier a span is (Safe Harbor § 164.514(b)(2), grouped)."""

    NAME = "NAME"  # patients, clinicians, relatives, user names; also initials
    DATE = "DATE"  # every element of a date except the year alone (admission, birth, death, visit)
    AGE = "AGE"  # ages over 89 (younger ages are not PHI)
    PHONE = "PHONE"
    FAX = "FAX"
    EMAIL = "EMAIL"
    SSN = "SSN"
    MRN = "MRN"  # medical record numbers
    HEALTH_PLAN = "HEALTH_PLAN"  # health-plan beneficiary numbers
    ACCOUNT = "ACCOUNT"
    LICENSE = "LICENSE"  # certificate and licence numbers (DEA, NPI, driver's licence)
    VEHICLE = "VEHICLE"  # vehicle identifiers and plates
    DEVICE = "DEVICE"  # device identifiers and serial numbers
    URL = "URL"
    IP_ADDRESS = "IP_ADDRESS"
    STREET = "STREET"  # street address
    CITY = "CITY"  # city, town, county
    ZIP = "ZIP"
    HOSPITAL = "HOSPITAL"  # hospitals, clinics, wards named after a place or person
    LOCATION = "LOCATION"  # any other geographic subdivision smaller than a state, or organisation
    ID = "ID"  # any other unique identifying number or code


@dataclass(frozen=True, order=True)
class PhiSpan:
    """One identifier in a text: characters ``start:end`` (end exclusive) of category ``category``.

    ``text`` is the covered string (kept for review screens; never written to logs or the ledger),
    ``score`` the detector's confidence in [0, 1], ``source`` the recognizer that found it.
    """

    start: int
    end: int
    category: PhiCategory
    text: str = field(default="", repr=False, compare=False)  # PHI itself: kept out of reprs and logs
    score: float = 1.0
    source: str = ""

    def __post_init__(self) -> None:
        if not 0 <= self.start < self.end:
            raise ValueError(f"a span needs 0 <= start < end, got {self.start}:{self.end}")

    def overlaps(self, other: PhiSpan) -> bool:
        """True when the two spans share at least one character."""
        return self.start < other.end and other.start < self.end


@dataclass(frozen=True)
class DeidResult:
    """A de-identified text and what was replaced.

    ``spans`` are positions in the ORIGINAL text. ``surrogates`` maps each surrogate back to the
    original value: it is PHI, stays in memory for the reviewer's view (:meth:`reidentify`) and is
    never stored, logged or sent anywhere; ``repr`` hides it.

    >>> r = DeidResult("Seen by Dr Tran.", (PhiSpan(11, 16, PhiCategory.NAME, "Smith"),), {"Tran": "Smith"})
    >>> r.counts(), r.reidentify(r.text)
    ({'NAME': 1}, 'Seen by Dr Smith.')
    """

    text: str
    spans: tuple[PhiSpan, ...]
    surrogates: Mapping[str, str] = field(default_factory=dict, repr=False)
    patient: str | None = None

    def counts(self) -> dict[str, int]:
        """Replaced identifiers per category: what the ledger records (never the values)."""
        return dict(sorted(Counter(span.category.value for span in self.spans).items()))

    def reidentify(self, text: str) -> str:
        """Put the original values back into ``text`` (for the reviewer's screen only)."""
        return restore(text, self.surrogates)


def restore(text: str, surrogates: Mapping[str, str]) -> str:
    """``text`` with each surrogate replaced by its original (longest surrogate first, so none clips another)."""
    for surrogate in sorted(surrogates, key=len, reverse=True):
        text = text.replace(surrogate, surrogates[surrogate])
    return text
