"""The grounding check: every drafted sentence is tied to the source, and the facts that hurt patients are checked.

For each sentence of the draft, the check finds its best supporting passages in the source (MiniLM sentence
embeddings plus lexical overlap of content terms), then runs hard checks on the critical facts of the sentence:
numbers and doses, dates, drug names (generic or brand, through the shipped lexicon), laterality and negation.
A sentence is *supported* when some passage supports it and no hard check fails; a failed hard check makes it
*critical*, and the report *passes* only when no sentence is critical.

Source passages: a dialogue (``Doctor: ... / Patient: ...``) is cut into speaker turns and sliding windows of
two and three turns (a summary sentence often fuses a question and its answer); a doctor's question takes its
polarity from the patient's reply ("Any wheezing?" - "No." negates wheezing). Other text is cut into sentences
and windows of two sentences.

Usage::

    from hygeia.text.grounding import check_grounding
    report = check_grounding(note_text, draft_text)
    report.passed                     # False when any sentence carries an unsupported critical fact
    for s in report.sentences:
        if not s.supported:
            print(s.text, s.reasons, [(e.start, e.end) for e in s.evidence])
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from hygeia.errors import TextError
from hygeia.text.embeddings import embed
from hygeia.text.facts import (
    Facts, Quantity, answer_polarity, extract_facts, split_sentences, split_turns, strip_answer_word,
)

__all__ = ["Evidence", "SentenceCheck", "GroundingReport", "GroundingConfig", "check_grounding"]
_NO_FACTS = Facts((), (), (), frozenset(), frozenset(), frozenset())


@dataclass(frozen=True)
class GroundingConfig:
    """Thresholds of the check (calibrated on MTS-Dialog training rows; see ``bench/grounding.py``).

    A sentence has support when its best passage scores at least ``min_support`` (``semantic_weight`` x cosine
    + the rest x share of the sentence's content terms found in the passage) or has a cosine similarity of at
    least ``min_similarity`` on its own (paraphrases share few words);
    ``top_k``: passages kept as evidence; the hard checks look at them plus ``context_turns`` neighbours;
    ``negation_k``: best passages in which a term of the other polarity counts as a flipped negation.
    """

    min_support: float = 0.25
    min_similarity: float = 0.40
    semantic_weight: float = 0.6
    top_k: int = 3
    negation_k: int = 2
    context_turns: int = 1


@dataclass(frozen=True)
class Evidence:
    """A source passage that supports a drafted sentence: character offsets into the source and its scores."""

    start: int
    end: int
    text: str
    similarity: float
    overlap: float


@dataclass(frozen=True)
class SentenceCheck:
    """The verdict on one drafted sentence."""

    text: str
    start: int
    end: int
    supported: bool
    critical: bool
    reasons: tuple[str, ...]
    evidence: tuple[Evidence, ...]
    score: float


@dataclass(frozen=True)
class GroundingReport:
    """One :class:`SentenceCheck` per drafted sentence, plus the summary the gate reads."""

    sentences: tuple[SentenceCheck, ...]
    config: GroundingConfig = field(default_factory=GroundingConfig)

    @property
    def supported_share(self) -> float:
        """Share of drafted sentences that are supported (1.0 for an empty draft)."""
        if not self.sentences:
            return 1.0
        return sum(s.supported for s in self.sentences) / len(self.sentences)

    @property
    def critical_count(self) -> int:
        """Number of sentences with an unsupported critical fact."""
        return sum(s.critical for s in self.sentences)

    @property
    def passed(self) -> bool:
        """True when no sentence carries an unsupported critical fact (the gate's rule)."""
        return self.critical_count == 0

    def to_dict(self) -> dict:
        """Plain JSON-ready form (for the ledger, the review view and the CLI)."""
        return {
            "passed": self.passed,
            "supported_share": self.supported_share,
            "critical_count": self.critical_count,
            "config": asdict(self.config),
            "sentences": [asdict(s) for s in self.sentences],
        }


# ------------------------------------------------------------------------------------------- source passages
@dataclass
class _Piece:
    """A turn (dialogue) or sentence (prose) of the source with its facts."""

    start: int
    end: int
    text: str
    facts: Facts


@dataclass
class _Passage:
    first: int  # index of the first and last piece
    last: int
    start: int
    end: int
    text: str


def _pieces(source: str) -> tuple[list[_Piece], bool]:
    """The source's turns (a dialogue, then True) or sentences (prose, then False) with their facts."""
    turns = split_turns(source)
    if not turns:
        return [_Piece(s, e, source[s:e], extract_facts(source[s:e])) for s, e in split_sentences(source)], False
    pieces = []
    for i, (speaker, start, end) in enumerate(turns):
        text = source[start:end]
        reply = next((source[s:e] for sp, s, e in turns[i + 1: i + 2] if sp != speaker), None)
        answer = answer_polarity(reply) if reply is not None and "?" in text else None
        # A bare "No," opening a reply answers the question; it negates nothing that follows it.
        pieces.append(_Piece(start, end, text, extract_facts(strip_answer_word(text), answer)))
    return pieces, True


def _passages(pieces: list[_Piece], widths: tuple[int, ...]) -> list[_Passage]:
    """Every run of ``width`` consecutive pieces, for each width (a summary sentence may fuse several turns)."""
    out = []
    for width in widths:
        for i in range(0, max(len(pieces) - width + 1, 0)):
            first, last = pieces[i], pieces[i + width - 1]
            text = " ".join(p.text for p in pieces[i: i + width])
            out.append(_Passage(i, i + width - 1, first.start, last.end, text))
    return out


def _passage_vectors(piece_vectors: np.ndarray, pieces: list[_Piece], passages: list[_Passage]) -> np.ndarray:
    """Unit vectors of the passages, composed from the vectors of their pieces.

    Only the pieces go through the encoder: a window's vector is the mean of its pieces' vectors weighted by
    their length in words (what mean pooling over the joined text does, up to context across the seam). It
    costs a sixth of encoding the windows of 1-3 turns themselves and measures the same on the dev split.
    """
    weights = np.array([max(len(p.text.split()), 1) for p in pieces], dtype=np.float32)
    out = np.stack([(piece_vectors[p.first: p.last + 1] * weights[p.first: p.last + 1, None]).sum(axis=0)
                    for p in passages])
    return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)


# ------------------------------------------------------------------------------------------------ hard checks
def _fmt_quantity(q: Quantity) -> str:
    value = f"{q.value:g}"
    return f"{value} {q.unit}" if q.unit else value


def _words(terms: list[str]) -> list[str]:
    """Terms for a reason line: concepts by their name, stems as they are."""
    return list(dict.fromkeys(t.removeprefix("concept:") for t in terms))


def _check_facts(draft: Facts, evidence: Facts, context: Facts, whole: Facts) -> list[str]:
    """Reasons why the critical facts of a drafted sentence are not backed by the source (empty when they are).

    ``evidence``: the best passages; ``context``: those plus their neighbour turns; ``whole``: the whole source.
    Drugs and numbers may come from anywhere in the source, sides from the context first, and a negation is
    flipped when the evidence states the term with the other polarity and the context never with the draft's.
    """
    reasons = []
    source_agents = set().union(*(d.components for d in whole.drugs)) if whole.drugs else set()
    for drug in draft.drugs:
        if not drug.components <= source_agents:
            reasons.append(f"drug {drug.text} not in source")
    for q in draft.quantities:
        if not any(q.matches(c) for c in whole.quantities):
            near = [c for c in context.quantities if c.unit == q.unit and q.unit] or list(context.quantities)
            said = f" (source says {', '.join(dict.fromkeys(_fmt_quantity(c) for c in near[:3]))})" if near else ""
            kind = "dose" if q.unit in {"mg", "mcg", "g", "ml", "unit", "meq", "tablet", "puff", "drop"} else "number"
            reasons.append(f"{kind} {_fmt_quantity(q)} not in source{said}")
    for d in draft.dates:
        if not any(d.matches(c) for c in context.dates + whole.dates):
            reasons.append(f"date {d.text} not in source")
    for side in sorted(draft.sides - {"bilateral"}):
        other = "right" if side == "left" else "left"
        if side in context.sides:
            continue
        if other in context.sides:
            reasons.append(f"laterality: draft says {side}, source says {other}")
        elif side not in whole.sides:
            said = f", source says {other}" if other in whole.sides else ""
            reasons.append(f"laterality: {side} not in source{said}")
    flipped_off = sorted(t for t in draft.affirmed & evidence.negated if t not in context.affirmed)
    flipped_on = sorted(t for t in draft.negated & evidence.affirmed if t not in context.negated)
    # A flipped negation turns every term in its scope; one stray generic term that disagrees while the rest of
    # the sentence agrees is paraphrase noise, not a flip.
    agreeing = ((draft.affirmed & (evidence.affirmed - evidence.negated))
                | (draft.negated & (evidence.negated - evidence.affirmed)))
    if len(flipped_off) + len(flipped_on) >= max(len(agreeing - set(flipped_off) - set(flipped_on)), 1):
        if flipped_off:
            reasons.append(f"negation flipped: source denies {' '.join(_words(flipped_off))}")
        if flipped_on:
            reasons.append(f"negation flipped: draft denies {' '.join(_words(flipped_on))}, source affirms it")
    return reasons


# ----------------------------------------------------------------------------------------------------- check
def check_grounding(source: str, draft: str, *, config: GroundingConfig | None = None) -> GroundingReport:
    r"""Tie every sentence of ``draft`` to ``source`` and check its critical facts; see the module docstring.

    >>> report = check_grounding("Doctor: Any chest pain?\nPatient: No.", "Denies chest pain. Takes warfarin.")
    >>> [s.supported for s in report.sentences], report.passed
    ([True, False], False)
    >>> report.sentences[1].reasons
    ('drug warfarin not in source', 'no supporting sentence (best similarity 0.15)')
    """
    if not isinstance(source, str) or not isinstance(draft, str):
        raise TextError("check_grounding needs the source and the draft as text (str): decode files first")
    if not source.strip():
        raise TextError("the source text is empty: pass the note or dialogue the draft was written from")
    cfg = config or GroundingConfig()
    pieces, dialogue = _pieces(source)
    passages = _passages(pieces, (1, 2, 3) if dialogue else (1, 2))
    spans = split_sentences(draft)
    if not spans:
        return GroundingReport((), cfg)
    if not passages:
        return GroundingReport(tuple(_unsupported(draft, s, e, "source has no text to compare") for s, e in spans), cfg)

    vectors = embed([draft[s:e] for s, e in spans] + [p.text for p in pieces])
    cosine = vectors[: len(spans)] @ _passage_vectors(vectors[len(spans):], pieces, passages).T
    passage_terms = [frozenset().union(*(piece.facts.terms for piece in pieces[p.first: p.last + 1]))
                     for p in passages]
    whole = _merge(pieces, set(range(len(pieces))))
    checks = tuple(
        _check_sentence(source, draft, span, cosine[row], pieces, passages, passage_terms, whole, cfg)
        for row, span in enumerate(spans)
    )
    return GroundingReport(checks, cfg)


def _check_sentence(source: str, draft: str, span: tuple[int, int], cosine: np.ndarray, pieces: list[_Piece],
                    passages: list[_Passage], passage_terms: list[frozenset[str]], whole: Facts,
                    cfg: GroundingConfig) -> SentenceCheck:
    """Find the evidence of one drafted sentence, run the hard checks, and judge its support."""
    start, end = span
    text = draft[start:end]
    facts = extract_facts(text)
    terms = facts.terms
    overlap = np.array([len(terms & t) / len(terms) if terms else 0.0 for t in passage_terms])
    score = cfg.semantic_weight * cosine + (1 - cfg.semantic_weight) * overlap
    chosen: list[int] = []  # best passages that do not overlap each other
    for idx in np.argsort(-score):
        p = passages[idx]
        if all(p.end <= passages[c].start or p.start >= passages[c].end for c in chosen):
            chosen.append(int(idx))
        if len(chosen) == cfg.top_k:
            break
    inner = {i for idx in chosen[: cfg.negation_k] for i in range(passages[idx].first, passages[idx].last + 1)}
    covered = {i for idx in chosen
               for i in range(max(passages[idx].first - cfg.context_turns, 0),
                              min(passages[idx].last + cfg.context_turns, len(pieces) - 1) + 1)}
    reasons = _check_facts(facts, _merge(pieces, inner), _merge(pieces, covered), whole)
    critical = bool(reasons)
    best = float(score[chosen[0]])
    if best < cfg.min_support and float(cosine.max()) < cfg.min_similarity:
        reasons.append(f"no supporting sentence (best similarity {float(cosine.max()):.2f})")
    evidence = tuple(
        Evidence(passages[i].start, passages[i].end, source[passages[i].start: passages[i].end],
                 round(float(cosine[i]), 4), round(float(overlap[i]), 4))
        for i in chosen
    )
    return SentenceCheck(text, start, end, not reasons, critical, tuple(reasons), evidence, round(best, 4))


def _merge(pieces: list[_Piece], indices: set[int]) -> Facts:
    """The facts of the pieces at ``indices`` together."""
    facts = _NO_FACTS
    for i in sorted(indices):
        facts = facts.merge(pieces[i].facts)
    return facts


def _unsupported(draft: str, start: int, end: int, reason: str) -> SentenceCheck:
    return SentenceCheck(draft[start:end], start, end, False, False, (reason,), (), 0.0)
