"""Score a PHI detector against gold notes: recall and precision per category, token and span level.

>>> from hygeia.privacy import detect_phi                                  # doctest: +SKIP
>>> result = evaluate(detect_phi, load_corpus("test"))                     # doctest: +SKIP
>>> print(result.to_markdown())                                            # doctest: +SKIP

Levels (one tokenizer for gold and predictions: runs of letters or runs of digits, so ``92F``,
``MR#123`` and ``2089-02-03`` split the same way on both sides):

- **token**: a gold token is *found* when predicted spans cover all its characters, whatever their
  category (de-identification cares that it was removed); a predicted token (any character under a
  predicted span) is *correct* when it is a gold token. Per category, recall is grouped by the gold
  category and precision by the predicted one.
- **span, overlap**: a gold span is found when a predicted span shares a character with it; a
  predicted span is correct when it shares a character with a gold span.
- **span, exact**: the same with identical start and end offsets.

Gold spans that Safe Harbor does not count as PHI (``AnnotatedNote.excluded``: states, professions,
ages up to 89, bare years) are don't-care: their tokens and the predictions that touch only them
are left out of both recall and precision. ``notes_per_second`` times the detector alone (wall clock).
Precision depends on how dense the PHI is; ``false_positive_rate`` (share of non-PHI tokens removed)
does not, and ``precision_at(d)`` turns it into the token precision expected at PHI density ``d``.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from hygeia.errors import DeidError
from hygeia.privacy.deid_formats import AnnotatedNote, read_physionet
from hygeia.privacy.phi import PhiCategory, PhiSpan

Detector = Callable[[str], Sequence[PhiSpan]]
BatchDetector = Callable[[list[str]], Sequence[Sequence[PhiSpan]]]

CORPUS_DIR = Path(__file__).with_name("corpus")
TOKEN = re.compile(r"[^\W\d_]+|\d+")
ALL = "ALL"
LEVELS = ("token", "span_overlap", "span_exact")


def load_corpus(split: Literal["dev", "test", "all"] = "test") -> list[AnnotatedNote]:
    """The shipped evaluation notes (see ``hygeia/privacy/corpus/README.md``): ``dev``, ``test`` or both."""
    if split not in ("dev", "test", "all"):
        raise DeidError(f"unknown corpus split {split!r}; use 'dev', 'test' or 'all'")
    names = ("dev", "test") if split == "all" else (split,)
    return [note for name in names for note in read_physionet(CORPUS_DIR / f"{name}.text")]


@dataclass(frozen=True)
class Score:
    """Counts behind one recall/precision pair: ``found`` of ``gold`` units, ``correct`` of ``predicted``."""

    found: int = 0
    gold: int = 0
    correct: int = 0
    predicted: int = 0

    @property
    def recall(self) -> float:
        """found / gold; NaN when there is no gold unit (nothing to find)."""
        return self.found / self.gold if self.gold else math.nan

    @property
    def precision(self) -> float:
        """correct / predicted; NaN when nothing was predicted."""
        return self.correct / self.predicted if self.predicted else math.nan

    @property
    def f1(self) -> float:
        r, p = self.recall, self.precision
        return 2 * r * p / (r + p) if r + p > 0 else math.nan

    def __add__(self, other: Score) -> Score:
        return Score(self.found + other.found, self.gold + other.gold, self.correct + other.correct,
                     self.predicted + other.predicted)


@dataclass(frozen=True)
class ErrorSpan:
    """A missed gold span or a false-positive prediction (PHI: for the developer's screen, never logged)."""

    patient: str
    note: str
    start: int
    end: int
    category: PhiCategory
    label: str
    text: str = field(repr=False)


@dataclass(frozen=True)
class DeidEvaluation:
    """Recall and precision per level and category (``scores[level][category or "ALL"]``), plus speed."""

    notes: int
    seconds: float
    scores: dict[str, dict[str, Score]]
    label_recall: dict[str, Score]  # token recall per gold label (PATIENT, DOCTOR, ...)
    category_agreement: float  # share of found gold spans with an overlapping prediction of the same category
    non_phi_tokens: int = 0  # tokens that are neither PHI nor don't-care: the room for false positives
    misses: tuple[ErrorSpan, ...] = field(default=(), repr=False)
    false_positives: tuple[ErrorSpan, ...] = field(default=(), repr=False)

    @property
    def notes_per_second(self) -> float:
        return self.notes / self.seconds if self.seconds > 0 else math.inf

    def overall(self, level: str = "token") -> Score:
        return self.scores[level][ALL]

    @property
    def false_positive_rate(self) -> float:
        """Share of non-PHI tokens the detector removed: unlike precision, it does not depend on how dense
        the PHI of the test notes is."""
        tok = self.overall("token")
        return (tok.predicted - tok.correct) / self.non_phi_tokens if self.non_phi_tokens else math.nan

    def precision_at(self, density: float) -> float:
        """Token precision expected on notes whose tokens are PHI at rate ``density`` (same recall and
        false-positive rate): ``r*d / (r*d + fpr*(1-d))``. The shipped corpus is PHI-dense (about 20 %)."""
        r, fpr = self.overall("token").recall, self.false_positive_rate
        return r * density / (r * density + fpr * (1 - density)) if r * density + fpr * (1 - density) else math.nan

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready numbers (NaN becomes ``None``); never the PHI of misses or false positives."""
        def num(x: float) -> float | None:
            return None if math.isnan(x) else round(x, 4)

        def row(s: Score) -> dict[str, Any]:
            return {"recall": num(s.recall), "precision": num(s.precision), "found": s.found, "gold": s.gold,
                    "correct": s.correct, "predicted": s.predicted}

        return {"notes": self.notes, "seconds": round(self.seconds, 4),
                "notes_per_second": round(self.notes_per_second, 2), "category_agreement": num(self.category_agreement),
                "non_phi_tokens": self.non_phi_tokens, "false_positive_rate": num(self.false_positive_rate),
                "token_precision_at_5pct_phi": num(self.precision_at(0.05)),
                "levels": {level: {cat: row(s) for cat, s in rows.items()} for level, rows in self.scores.items()},
                "label_token_recall": {label: row(s) for label, s in self.label_recall.items()}}

    def to_markdown(self) -> str:
        """A table per category (token and span level) and token recall per gold label."""
        def pct(x: float) -> str:
            return "n/a" if math.isnan(x) else f"{x:.3f}"

        tok, ovl, exa = (self.scores[level] for level in LEVELS)
        lines = [(f"De-identification: {self.notes} notes, {self.notes_per_second:.1f} notes/s (detector wall clock "
                 f"{self.seconds:.2f} s); category agreement on found spans {pct(self.category_agreement)}."), "",
                 (f"Token false-positive rate {pct(self.false_positive_rate)} of {self.non_phi_tokens} non-PHI tokens; "
                  f"on notes with 5 % PHI tokens (sparser than these) token precision would be "
                  f"{pct(self.precision_at(0.05))}."), "",
                 ("| category | gold tokens | token recall | token precision | gold spans | span recall (overlap) "
                 "| span precision (overlap) | span recall (exact) | span precision (exact) |"),
                 "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for cat in [ALL, *sorted(c for c in tok if c != ALL)]:
            t, o, e = tok[cat], ovl[cat], exa[cat]
            lines.append(f"| {cat} | {t.gold} | {pct(t.recall)} | {pct(t.precision)} | {o.gold} | {pct(o.recall)} "
                         f"| {pct(o.precision)} | {pct(e.recall)} | {pct(e.precision)} |")
        lines += ["", "n/a: no gold unit (recall) or no prediction (precision) of that category.", "",
                  "| gold label | gold tokens | token recall |", "|---|---:|---:|"]
        lines += [f"| {label} | {s.gold} | {pct(s.recall)} |" for label, s in sorted(self.label_recall.items())]
        return "\n".join(lines) + "\n"


def _check_spans(spans: Sequence[PhiSpan], note: AnnotatedNote) -> list[PhiSpan]:
    out = []
    for span in spans:
        if not isinstance(span, PhiSpan):
            raise DeidError(f"the detector returned {type(span).__name__}, not PhiSpan, for note "
                            f"{note.patient}/{note.note}; return hygeia.privacy.PhiSpan objects")
        if span.end > len(note.text):
            raise DeidError(f"the detector returned span {span.start}:{span.end} beyond note {note.patient}/"
                            f"{note.note} ({len(note.text)} characters); fix the detector's offsets")
        out.append(span)
    return out


def _run(detector: Detector | BatchDetector, notes: Sequence[AnnotatedNote],
         batch: bool) -> tuple[list[list[PhiSpan]], float]:
    texts = [n.text for n in notes]
    if batch:
        start = time.perf_counter()
        results = list(detector(texts))  # type: ignore[arg-type]
        seconds = time.perf_counter() - start
        if len(results) != len(notes):
            raise DeidError(f"the batch detector returned {len(results)} results for {len(notes)} notes; "
                            "return one list of spans per note")
    else:
        results, seconds = [], 0.0
        for text in texts:
            start = time.perf_counter()
            results.append(detector(text))  # type: ignore[arg-type]
            seconds += time.perf_counter() - start
    return [_check_spans(r, n) for r, n in zip(results, notes)], seconds


def evaluate(detector: Detector | BatchDetector, notes: Sequence[AnnotatedNote], *, batch: bool = False,
             keep_errors: bool = True) -> DeidEvaluation:
    """Run ``detector`` on every note and score it against the gold spans.

    ``detector(text) -> spans``; with ``batch=True`` it is called once with all texts and returns one
    list of spans per text. ``keep_errors=False`` keeps no PHI (misses, false positives) in the result.
    """
    if not notes:
        raise DeidError("no notes to evaluate; give a gold file with at least one note")
    predictions, seconds = _run(detector, notes, batch)
    acc: dict[str, dict[str, Score]] = {level: {ALL: Score()} for level in LEVELS}
    labels: dict[str, Score] = {}
    agree = found_spans = negatives = 0
    misses: list[ErrorSpan] = []
    false_pos: list[ErrorSpan] = []
    for note, pred in zip(notes, predictions):
        scored, note_negatives = _score_note(note, pred, labels, misses, false_pos)
        negatives += note_negatives
        for level, rows in scored.items():
            for cat, score in rows.items():
                acc[level][cat] = acc[level].get(cat, Score()) + score
        for g in note.spans:
            hits = [p for p in pred if p.overlaps(g)]
            if hits:
                found_spans += 1
                agree += any(p.category is g.category for p in hits)
    return DeidEvaluation(len(notes), seconds, acc, labels, agree / found_spans if found_spans else math.nan, negatives,
                          tuple(misses) if keep_errors else (), tuple(false_pos) if keep_errors else ())


def _add(rows: dict[str, Score], cat: str, **counts: int) -> None:
    rows[cat] = rows.get(cat, Score()) + Score(**counts)


def _score_note(note: AnnotatedNote, pred: list[PhiSpan], labels: dict[str, Score], misses: list[ErrorSpan],
                false_pos: list[ErrorSpan]) -> tuple[dict[str, dict[str, Score]], int]:
    text = note.text
    covered = bytearray(len(text))  # 1 where a predicted span covers the character
    for p in pred:
        covered[p.start:p.end] = b"\1" * (p.end - p.start)
    gold, dont_care = note.spans, note.excluded
    rows: dict[str, dict[str, Score]] = {level: {} for level in LEVELS}
    tok = rows["token"]
    negatives = 0
    for m in TOKEN.finditer(text):
        s, e = m.span()
        g = next((x for x in gold if x.start < e and s < x.end), None)
        if g is None and any(x.start < e and s < x.end for x in dont_care):
            continue  # not PHI under Safe Harbor: neither rewarded nor penalised
        is_found = g is not None and all(covered[s:e])
        negatives += g is None
        if g is not None:
            for key in (ALL, g.category.value):
                _add(tok, key, found=int(is_found), gold=1)
            _add(labels, g.source or g.category.value, found=int(is_found), gold=1)
        cats = {p.category.value for p in pred if p.start < e and s < p.end}
        for key in (cats | {ALL}) if cats else ():  # ALL once per token, even under two categories
            _add(tok, key, correct=int(g is not None), predicted=1)
    exact = {(x.start, x.end) for x in gold}
    pred_exact = {(p.start, p.end) for p in pred}
    for g in gold:
        hit = any(p.overlaps(g) for p in pred)
        for key in (ALL, g.category.value):
            _add(rows["span_overlap"], key, found=int(hit), gold=1)
            _add(rows["span_exact"], key, found=int((g.start, g.end) in pred_exact), gold=1)
        if not hit:
            misses.append(ErrorSpan(note.patient, note.note, g.start, g.end, g.category, g.source, g.text))
    for p in pred:
        hit = any(p.overlaps(g) for g in gold)
        if not hit and any(p.start < x.end and x.start < p.end for x in dont_care):
            continue
        for key in (ALL, p.category.value):
            _add(rows["span_overlap"], key, correct=int(hit), predicted=1)
            _add(rows["span_exact"], key, correct=int((p.start, p.end) in exact), predicted=1)
        if not hit:
            false_pos.append(ErrorSpan(note.patient, note.note, p.start, p.end, p.category, p.source,
                                       text[p.start:p.end]))
    return rows, negatives
