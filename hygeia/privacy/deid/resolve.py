"""From Presidio results to :class:`PhiSpan`: map entity types, merge overlaps, propagate names.

- Presidio entity names map to :class:`PhiCategory` through :data:`ENTITY_TO_CATEGORY`.
- Overlapping results merge into one span covering both (a partial overlap left as two spans
  would leave characters of an identifier behind); the merged span takes the category that ranks
  first in :data:`PRIORITY` (an e-mail beats the name inside it).
- Propagation: once a word is found as a name in a note, every other occurrence of it in that
  note is a name too (``KOWALSKI`` found after "Dr" also marks a bare ``Kowalski`` later on).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from presidio_analyzer import RecognizerResult

from hygeia.privacy.deid.lexicon import Lexicon, fold
from hygeia.privacy.phi import PhiCategory, PhiSpan

C = PhiCategory
ENTITY_TO_CATEGORY: dict[str, PhiCategory] = {
    "PERSON_NAME": C.NAME, "PERSON": C.NAME, "USERNAME": C.NAME, "DATE_TIME": C.DATE, "AGE": C.AGE, "PHONE_NUMBER": C.PHONE,
    "FAX": C.FAX, "EMAIL_ADDRESS": C.EMAIL, "US_SSN": C.SSN, "MRN": C.MRN, "ACCOUNT": C.ACCOUNT,
    "HEALTH_PLAN": C.HEALTH_PLAN, "LICENSE": C.LICENSE, "VEHICLE": C.VEHICLE, "DEVICE": C.DEVICE, "URL": C.URL,
    "IP_ADDRESS": C.IP_ADDRESS, "STREET_ADDRESS": C.STREET, "CITY": C.CITY, "ZIP": C.ZIP, "HOSPITAL": C.HOSPITAL,
    "LOCATION": C.LOCATION, "ID": C.ID,
}
PRIORITY = [C.EMAIL, C.URL, C.SSN, C.FAX, C.PHONE, C.IP_ADDRESS, C.MRN, C.ACCOUNT, C.HEALTH_PLAN, C.LICENSE,
            C.DEVICE, C.VEHICLE, C.STREET, C.DATE, C.AGE, C.ZIP, C.HOSPITAL, C.NAME, C.CITY, C.LOCATION, C.ID]
_RANK = {category: i for i, category in enumerate(PRIORITY)}
_WORD = re.compile(r"[A-Za-z][A-Za-z'\-]*[A-Za-z]")


def to_spans(text: str, results: Iterable[RecognizerResult]) -> list[PhiSpan]:
    """Presidio results -> PhiSpans (edges trimmed of spaces and punctuation; unknown types dropped)."""
    spans = []
    for result in results:
        category = ENTITY_TO_CATEGORY.get(result.entity_type)
        if category is None:
            continue
        start, end = result.start, result.end
        while start < end and not text[start].isalnum():
            start += 1
        while end > start and not (text[end - 1].isalnum() or text[end - 1] in ".)" and end - start > 2):
            end -= 1
        if start < end:
            name = (result.recognition_metadata or {}).get("recognizer_name", "")
            spans.append(PhiSpan(start, end, category, text[start:end], round(result.score, 3), name))
    return spans


def merge(text: str, spans: Sequence[PhiSpan]) -> list[PhiSpan]:
    """Overlapping spans become one; its category is the highest-priority one among them."""
    out: list[PhiSpan] = []
    for span in sorted(spans, key=lambda s: (s.start, -s.end)):
        if out and span.start < out[-1].end:
            last = out[-1]
            end = max(last.end, span.end)
            best = min((last, span), key=lambda s: (_RANK[s.category], -(s.end - s.start)))
            out[-1] = PhiSpan(last.start, end, best.category, text[last.start:end], max(last.score, span.score),
                              best.source)
        else:
            out.append(span)
    return out


def propagate(text: str, spans: Sequence[PhiSpan], lex: Lexicon, known: Iterable[str] = ()) -> list[PhiSpan]:
    """Mark every other occurrence of a found name word (and of ``known`` names, e.g. from earlier notes)."""
    words = {fold(w) for s in spans if s.category is C.NAME for w in _WORD.findall(s.text)}
    words |= {fold(w) for w in known}
    words = {w for w in words if len(w) >= 3 and w not in lex.clinical and w not in lex.common}
    if not words:
        return list(spans)
    covered = [(s.start, s.end) for s in spans]
    extra = []
    for match in _WORD.finditer(text):
        if fold(match.group()) in words and not any(a <= match.start() < b for a, b in covered):
            extra.append(PhiSpan(match.start(), match.end(), C.NAME, match.group(), 0.5, "propagation"))
    return merge(text, [*spans, *extra]) if extra else list(spans)


def name_words(spans: Iterable[PhiSpan], lex: Lexicon) -> set[str]:
    """The name words of ``spans`` worth remembering for a patient's later notes."""
    return {fold(w) for s in spans if s.category is C.NAME for w in _WORD.findall(s.text)
            if len(w) >= 3 and fold(w) not in lex.common and fold(w) not in lex.clinical}
