"""The extractive backend: no model, every output sentence is a sentence of the source.

For each wanted section (from the prompt's ``<sections>`` block) it scores every source sentence
by (a) whether the note's own heading above it matches the section (``HOSPITAL COURSE:``,
``# Medications``), (b) how many of the section's cue words it contains, and (c) how central it is
to the note (TF-IDF similarity to the other sentences), then keeps the best few in source order.
It invents nothing, so it is safe as the always-available default; it cannot rephrase, so it is
a poor fit for a reading-grade target.

>>> from hygeia.text.backends.base import user_message
>>> note = "Chief complaint: chest pain.\\nHospital course: Troponin was negative. He was observed overnight."
>>> msg = user_message("Summarise.", note, [("Reason for admission", "chief complaint", 1)])
>>> print(ExtractiveBackend().complete([msg]).text)
Reason for admission:
chest pain.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from hygeia.text.backends.base import (
    Backend,
    Completion,
    Message,
    parse_request,
    register,
)
from hygeia.text.facts import split_sentences

# A heading is a short run of words ending in ":" at the start of a line (inline or alone), a Markdown "#" line,
# or a line in capitals alone ("HOSPITAL COURSE").
_HEADING = re.compile(r"^[ \t]*(?:#+[ \t]*(?P<md>[^\n:]{2,60}?)[ \t]*:?[ \t]*$"
                      r"|(?P<colon>[A-Za-z][A-Za-z /&()'-]{1,50}):"
                      r"|(?P<caps>[A-Z][A-Z /&()'-]{2,50}[A-Z)])[ \t]*$)", re.MULTILINE)
_SPEAKER = re.compile(r"^\s*(?:doctor|patient|guest_family|guest_clinician|dr|pt|nurse|family)\s*:\s*", re.IGNORECASE)
_BULLET = re.compile(r"^\s*(?:[-*\u2022]|\d{1,2}[.)])\s+")
_WORD = re.compile(r"[a-z][a-z0-9]+")
_STOP = frozenset("""a an and are as at be by for from has have in into is it its of on or that the their this to was
were with what why when who how which patient patients any all other each per""".split())


@dataclass(frozen=True)
class _Sentence:
    start: int
    end: int
    text: str
    heading: str


def _stem(word: str) -> str:
    # Crude but language-model-free: "medications" ~ "medication" ~ "medicine" share the first 5 letters.
    return word[:5]


def _cues(text: str) -> set[str]:
    return {_stem(w) for w in _WORD.findall(text.lower()) if w not in _STOP}


def headings(source: str) -> list[tuple[int, int, str]]:
    """(line start, end of the heading text, heading) for every heading line in the note."""
    found = []
    for m in _HEADING.finditer(source):
        title = (m.group("md") or m.group("colon") or m.group("caps") or "").strip()
        if title and len(title.split()) <= 6 and not _SPEAKER.match(m.group(0)):
            found.append((m.start(), m.end(), title))
    return found


def sentences(source: str) -> list[_Sentence]:
    """Source sentences with the heading they sit under; headings, speaker tags and bullets trimmed off."""
    heads = headings(source)
    out: list[_Sentence] = []
    seen: set[str] = set()
    for start, end in split_sentences(source):
        heading, body_start = "", start
        for h_start, h_end, title in heads:
            # A heading above the sentence, or one that opens it ("Plan: continue ..."), names its section.
            if h_start <= start or source[start:h_start].strip() == "":
                heading = title
                body_start = max(body_start, h_end)
            else:
                break
        text = source[body_start:end]
        for pattern in (_SPEAKER, _BULLET):
            m = pattern.match(text)
            if m:
                body_start += m.end()
                text = source[body_start:end]
        text = text.strip()
        key = " ".join(text.lower().split())
        if len(_WORD.findall(key)) < 2 or key in seen:  # fragments and repeated lines say nothing new
            continue
        seen.add(key)
        lead = source.index(text, body_start)
        out.append(_Sentence(lead, lead + len(text), text, heading))
    return out


def _heading_match(heading: str, cues: set[str]) -> float:
    """Share of the heading's words that are cue words of the section (0 when the sentence has no heading)."""
    head = _cues(heading)
    return len(head & cues) / len(head) if head else 0.0


def _centrality(texts: list[str]) -> np.ndarray:
    if len(texts) < 2:
        return np.ones(len(texts))
    try:
        matrix = TfidfVectorizer(stop_words="english").fit_transform(texts)
    except ValueError:  # only stop words
        return np.zeros(len(texts))
    sim = (matrix @ matrix.T).toarray()
    np.fill_diagonal(sim, 0.0)
    return sim.mean(axis=1) / max(sim.mean(axis=1).max(), 1e-9)


def pick(source: str, sections: Sequence[tuple[str, str, int]]) -> list[tuple[str, list[_Sentence]]]:
    """For each section ``(name, hint, limit)``, the chosen source sentences in source order."""
    sents = sentences(source)
    central = _centrality([s.text for s in sents])
    used: set[int] = set()
    chosen: list[tuple[str, list[_Sentence]]] = []
    for name, hint, limit in sections:
        name_cues, hint_cues = _cues(name), _cues(hint)
        scored = []
        for i, s in enumerate(sents):
            if i in used:
                continue
            words = _cues(s.text)
            heading_match = _heading_match(s.heading, name_cues | hint_cues)
            cue_match = len(words & (name_cues | hint_cues)) / max(len(name_cues | hint_cues), 1)
            # Questions (a doctor's, in a dialogue) ask rather than state: keep them for last.
            score = 2.0 * heading_match + cue_match + 0.25 * central[i] - (0.5 if s.text.endswith("?") else 0.0)
            # A lone section summarises the whole note: every sentence may serve, the most central first.
            if heading_match > 0 or cue_match > 0 or len(sections) == 1:
                scored.append((score, i))
        matches = {i: _heading_match(sents[i].heading, name_cues | hint_cues) for _, i in scored}
        top = max(matches.values(), default=0.0)
        if top >= 0.5:  # the note has a heading for this section: take sentences from under the best-named ones
            scored = [(score, i) for score, i in scored if matches[i] == top]
        best = sorted(i for _, i in sorted(scored, reverse=True)[:limit])
        used.update(best)
        chosen.append((name, [sents[i] for i in best]))
    return chosen


@register
class ExtractiveBackend(Backend):
    """No model: picks and orders source sentences per section. Never leaves the machine."""

    name = "extractive"
    summary = "no model: selects source sentences per section (always available, invents nothing)"

    @property
    def model(self) -> str:
        return "extractive-tfidf/1"

    @property
    def external(self) -> bool:
        return False

    def complete(
        self, messages: Sequence[Message], *, max_tokens: int = 512, temperature: float = 0.0, seed: int | None = None
    ) -> Completion:
        """Build the sections from source sentences; ``temperature`` and ``seed`` do not apply (deterministic)."""
        source, sections = parse_request(messages)
        # Whitespace is normalised (a sentence wrapped over two lines reads as one); the words are the source's.
        blocks = [f"{name}:\n" + "\n".join(" ".join(s.text.split()) for s in picked)
                  for name, picked in pick(source, sections)]
        text = "\n\n".join(b.rstrip("\n") for b in blocks)
        words = text.split()
        finish = "stop"
        if len(words) > max_tokens:  # a word is at least one token: never return more than was asked for
            text, finish = " ".join(words[:max_tokens]), "length"
        return Completion(text=text, backend=self.name, model=self.model, finish_reason=finish,
                          usage={"completion_tokens": min(len(words), max_tokens)})
