"""The grounding check: every drafted sentence is tied to the source, and the facts that hurt patients are checked.

For each sentence of the draft, the check finds its best supporting passages in the source (MiniLM sentence
embeddings plus lexical overlap of content terms), then runs hard checks on the critical facts of the sentence:
numbers and doses, dates, drug names (generic or brand, through the shipped lexicon), laterality and negation.
A sentence is *supported* when some passage supports it and no hard check fails; a failed hard check makes it
*critical*, and the report *passes* only when no sentence is critical.

Source passages: a dialogue (``Doctor: ... / Patient: ...``) is cut into speaker turns and sliding windows of
two and three turns (a summary sentence often fuses a question and its answer), plus the single sentences of
long turns (a short summary sentence matches one of them best); a doctor's question takes its polarity from the
patient's reply ("Any wheezing?" - "No." negates wheezing). Other text is cut into sentences and windows of two
sentences. Only source sentences go through the encoder; turn and window vectors are composed from theirs.

Negation is judged term by term against the *nearest* evidence: the source turn most similar to the
drafted sentence that states the term one way only. Body sites and frame words ("head", "trouble") are not
judged: their polarity follows the finding's. A sentence made only of the note's bookkeeping words
("Noncontributory.", "Otherwise negative.") states nothing and is not flagged.

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
    NEUTRAL, Facts, Quantity, answer_polarity, asks_question, extract_facts, is_site_term, split_sentences,
    split_turns, stem, strip_answer_word,
)

__all__ = ["Evidence", "SentenceCheck", "GroundingReport", "GroundingConfig", "check_grounding"]
_NO_FACTS = Facts((), (), (), frozenset(), frozenset(), frozenset())


@dataclass(frozen=True)
class GroundingConfig:
    """Thresholds of the check (chosen on the dev split of MTS-Dialog; see ``bench/grounding.py``).

    A sentence has support when its best passage scores at least ``min_support`` (``semantic_weight`` x cosine
    + the rest x share of the sentence's content terms found in the passage) or has a cosine similarity of at
    least ``min_similarity`` on its own (with the default weight, a cosine that high already clears
    ``min_support``; it matters when ``semantic_weight`` is lowered);
    ``top_k``: passages kept as evidence; the hard checks look at them plus ``context_turns`` neighbours;
    ``min_flipped``: drafted terms whose polarity must disagree with the nearest evidence for a flipped negation;
    ``min_polarity_similarity``: the least cosine similarity of a source turn to the drafted sentence for its
    polarity to count (a turn about something else says nothing about this sentence's negations).
    """

    min_support: float = 0.25
    min_similarity: float = 0.45
    semantic_weight: float = 0.6
    top_k: int = 3
    min_flipped: int = 1
    min_polarity_similarity: float = 0.2
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
    answered: bool = False  # a question whose polarity the next turn's "Yes"/"No" settles


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
        answer = answer_polarity(reply) if reply is not None and asks_question(text) else None
        # A bare "No," opening a reply answers the question; it negates nothing that follows it.
        pieces.append(_Piece(start, end, text, extract_facts(strip_answer_word(text), answer),
                             answer is not None and answer != NEUTRAL))
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


def _compose(vectors: np.ndarray, weights: np.ndarray, groups: list[tuple[int, int]]) -> np.ndarray:
    """Unit vectors of runs of consecutive units (``(first, last)`` rows of ``vectors``), composed, not encoded.

    A run's vector is the mean of its units' vectors weighted by their length in words: what mean pooling over
    the joined text does, up to the context across the seams. Only sentences go through the encoder, so turns
    and windows of turns cost nothing more (encoding the 1-3 turn windows themselves costs about six times as
    much; on 100 dev pairs it measured within one or two catches and false flags of this).
    """
    out = np.stack([(vectors[a: b + 1] * weights[a: b + 1, None]).sum(axis=0) for a, b in groups])
    return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)


def _lengths(units: list) -> np.ndarray:
    return np.array([max(len(u.text.split()), 1) for u in units], dtype=np.float32)


def _sentence_passages(pieces: list[_Piece]) -> tuple[list[_Passage], list[tuple[int, int]]]:
    """Every sentence of every piece as a passage (a short drafted sentence often matches one sentence of a long
    turn best), and for each piece the range of its sentences in that list."""
    out: list[_Passage] = []
    ranges = []
    for k, piece in enumerate(pieces):
        first = len(out)
        for s, e in split_sentences(piece.text) or [(0, len(piece.text))]:
            out.append(_Passage(k, k, piece.start + s, piece.start + e, piece.text[s:e]))
        ranges.append((first, len(out) - 1))
    return out, ranges


# ------------------------------------------------------------------------------------------------ hard checks
def _fmt_quantity(q: Quantity) -> str:
    value = f"{q.value:g}"
    return f"{value} {q.unit}" if q.unit else value


def _words(terms: list[str]) -> list[str]:
    """Terms for a reason line: concepts by their name, stems as they are."""
    return list(dict.fromkeys(t.removeprefix("concept:") for t in terms))


def _check_facts(draft: Facts, context: Facts, whole: Facts) -> list[str]:
    """Reasons why the critical facts of a drafted sentence are not backed by the source (empty when they are).

    ``context``: the best passages plus their neighbour turns; ``whole``: the whole source. Drugs and numbers
    may come from anywhere in the source, sides from the context first.
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
    return reasons


def _check_negation(draft: Facts, ranked: list[Facts], min_flipped: int) -> list[str]:
    """Reasons why the polarity of the drafted terms disagrees with the source (empty when it does not).

    ``ranked``: the facts of the context pieces, most similar to the drafted sentence first. A term takes its
    source polarity from the first piece that states it one way only (the nearest evidence, so a stray
    "Smoking is gross." further away does not overrule "Do you smoke?" - "No."). With ``min_flipped`` > 1, one
    flipped term alone is read as paraphrase noise.
    """
    flipped_off, flipped_on = [], []
    # A term the draft states both ways is not checked, nor a body site ("no deformity of the head": the head is
    # not denied).
    for term in sorted(t for t in draft.affirmed ^ draft.negated if not is_site_term(t)):
        for piece in ranked:
            neg, aff = term in piece.negated, term in piece.affirmed
            if neg != aff:
                if neg and term in draft.affirmed:
                    flipped_off.append(term)
                elif aff and term in draft.negated:
                    flipped_on.append(term)
                break
    reasons = []
    if len(flipped_off) + len(flipped_on) >= min_flipped:
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

    sentences, ranges = _sentence_passages(pieces)
    vectors = embed([draft[s:e] for s, e in spans] + [p.text for p in sentences])
    sentence_vectors = vectors[len(spans):]
    piece_vectors = _compose(sentence_vectors, _lengths(sentences), ranges)
    windows = _compose(piece_vectors, _lengths(pieces), [(p.first, p.last) for p in passages])
    passage_terms = [frozenset().union(*(piece.facts.terms for piece in pieces[p.first: p.last + 1]))
                     for p in passages]
    # Sentences of multi-sentence pieces join the candidates (after the windows, so the first len(pieces)
    # candidates stay the single pieces).
    extra = [i for a, b in ranges if b > a for i in range(a, b + 1)]
    passages = passages + [sentences[i] for i in extra]
    passage_terms += [extract_facts(sentences[i].text).terms for i in extra]
    cosine = vectors[: len(spans)] @ np.vstack([windows, sentence_vectors[extra]]).T
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
    covered = {i for idx in chosen
               for i in range(max(passages[idx].first - cfg.context_turns, 0),
                              min(passages[idx].last + cfg.context_turns, len(pieces) - 1) + 1)}
    reasons = _check_facts(facts, _merge(pieces, covered), whole)
    ranked = sorted((i for i in covered if cosine[i] >= cfg.min_polarity_similarity), key=lambda i: -cosine[i])
    reasons += _check_negation(facts, [pieces[i].facts for i in ranked], cfg.min_flipped)
    critical = bool(reasons)
    best = float(score[chosen[0]])
    if _states_nothing(facts):
        pass  # "Noncontributory.", "Otherwise negative.": no claim a source could back or contradict
    elif best < cfg.min_support and float(cosine.max()) < cfg.min_similarity:
        reasons.append(f"no supporting sentence (best similarity {float(cosine.max()):.2f})")
    stops = [_evidence_end(passages[i], pieces) for i in chosen]
    evidence = tuple(
        Evidence(passages[i].start, stop, source[passages[i].start: stop], round(float(cosine[i]), 4),
                 round(float(overlap[i]), 4))
        for i, stop in zip(chosen, stops)
    )
    return SentenceCheck(text, start, end, not reasons, critical, tuple(reasons), evidence, round(best, 4))


# Words of the note's own bookkeeping (section fillers, visit logistics): a sentence made only of these and stop
# words states nothing about the patient, so the source has nothing to support and it is not flagged.
_BOILERPLATE = frozenset(stem(w) for w in """noncontributory unremarkable negative positive otherwise review reviewed
noted system systems clinic followup follow visit visits present presents presented evaluation complaint complaints
medical history none nothing comes came seen per unchanged contributory nonsignificant essentially
basically stated hpi above tolerated agreement plan consent informed obtained explained discuss discussed risks
benefits options""".split())


def _states_nothing(facts: Facts) -> bool:
    """True when a sentence has no critical fact and no content term beyond the note's bookkeeping words."""
    return (not (facts.quantities or facts.dates or facts.drugs or facts.sides)
            and all(t in _BOILERPLATE for t in facts.terms))


def _evidence_end(passage: _Passage, pieces: list[_Piece]) -> int:
    """Where the evidence of ``passage`` ends: a question that closes it takes its answer along, because the
    reviewer needs the "No." to read the question as a denial."""
    if pieces[passage.last].answered and passage.last + 1 < len(pieces):
        return pieces[passage.last + 1].end
    return passage.end


def _merge(pieces: list[_Piece], indices: set[int]) -> Facts:
    """The facts of the pieces at ``indices`` together."""
    facts = _NO_FACTS
    for i in sorted(indices):
        facts = facts.merge(pieces[i].facts)
    return facts


def _unsupported(draft: str, start: int, end: int, reason: str) -> SentenceCheck:
    return SentenceCheck(draft[start:end], start, end, False, False, (reason,), (), 0.0)
