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

Negation is judged term by term against the *nearest* evidence, clause by clause: the source turns most
similar to the drafted sentence in order, and inside a turn its sentences in order of similarity (a question
sentence takes the polarity of the reply's "Yes"/"No"); the first that states the term one way only decides.
Body sites and frame words ("head", "trouble") are not judged: their polarity follows the finding's.
Laterality is checked twice: a side the context never names (or names only the other way), and each side tied
to its body part and neighbour words ("right knee" against a source "left knee", even when the source names a
right shoulder too; a two-sided sentence mirrored whole). A leading label ("Work status: ...") is not part of
the claim. A sentence made only of the note's bookkeeping words
("Noncontributory.", "Otherwise negative.") states nothing and is not flagged; a drafted section heading
("Hospital course:", "## Medications") is structure, not a claim, and is left out of the sentences.

Evidence shown to a reviewer is tight: inside each supporting passage, the source sentence that matches the
drafted sentence best (a question with its answer's first sentence), at most about 300 characters.

Usage::

    from hygeia.text.grounding import check_grounding
    report = check_grounding(note_text, draft_text)
    report.passed                     # False when any sentence carries an unsupported critical fact
    for s in report.sentences:
        if not s.supported:
            print(s.text, s.reasons, [(e.start, e.end) for e in s.evidence])
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

import numpy as np

from hygeia.errors import TextError
from hygeia.text.embeddings import embed
from hygeia.text.facts import (
    NEUTRAL,
    Facts,
    Quantity,
    answer_polarity,
    asks_question,
    extract_facts,
    is_body_part,
    is_site_term,
    split_sentences,
    split_turns,
    stem,
    strip_answer_word,
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
    answer: int | None = None  # that reply's polarity (see answer_polarity), None when no question is answered


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
                             answer is not None and answer != NEUTRAL, answer))
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
    if not any(r.startswith("laterality") for r in reasons):
        reasons += _check_side_anchors(draft, context)
    return reasons


_MIN_ANCHOR = 2  # tie strength of a drafted side to a source side: a shared body part counts 2, another term 1,
# so "knee" ties alone but "pain" does not (it is next to every side of a note)


def _tie(a: frozenset[str], b: frozenset[str]) -> int:
    return sum(2 if is_body_part(t) else 1 for t in a & b)


def _check_side_anchors(draft: Facts, context: Facts) -> list[str]:
    """Each drafted side tied to what it is the side of: "right knee" is contradicted by a source that says
    "left knee" (and no "right knee") even when it names a right something else, and "left greater than right"
    mirrored whole is caught, which comparing the sets of sides cannot do. A drafted side is flagged when the
    source side mentions most tied to it (at least ``_MIN_ANCHOR``, see :func:`_tie`) all name the other side."""
    reasons = []
    for side, anchor in draft.side_anchors:
        other = "right" if side == "left" else "left"
        share = {s: max((_tie(anchor, a) for s2, a in context.side_anchors if s2 == s), default=0)
                 for s in (side, other)}
        if share[other] >= _MIN_ANCHOR and share[other] > share[side]:
            part = " ".join(sorted(anchor)[:3])
            reasons.append(f"laterality: draft says {side} ({part}), source says {other}")
            break
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
    # A heading ("Hospital course:", "## Medications") is the draft's structure, not a claim: nothing to check.
    spans = [(s, e) for s, e in split_sentences(draft) if not _is_heading(draft[s:e])]
    if not spans:
        return GroundingReport((), cfg)
    if not passages:
        return GroundingReport(tuple(_unsupported(draft, s, e, "source has no text to compare") for s, e in spans), cfg)

    sentences, ranges = _sentence_passages(pieces)
    vectors = embed([_claim(draft[s:e]) for s, e in spans] + [p.text for p in sentences])
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
    sentence_cosine = vectors[: len(spans)] @ sentence_vectors.T
    whole = _merge(pieces, set(range(len(pieces))))
    by_sentence = _SourceSentences(source, pieces, sentences, ranges, cfg)
    checks = tuple(
        _check_sentence(source, draft, span, cosine[row], pieces, passages, passage_terms, whole, cfg,
                        by_sentence, sentence_cosine[row])
        for row, span in enumerate(spans)
    )
    return GroundingReport(checks, cfg)


def _check_sentence(source: str, draft: str, span: tuple[int, int], cosine: np.ndarray, pieces: list[_Piece],
                    passages: list[_Passage], passage_terms: list[frozenset[str]], whole: Facts,
                    cfg: GroundingConfig, by_sentence: _SourceSentences, sentence_cosine: np.ndarray) -> SentenceCheck:
    """Find the evidence of one drafted sentence, run the hard checks, and judge its support."""
    start, end = span
    text = draft[start:end]
    facts = extract_facts(_claim(text))
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
    reasons += _check_negation(facts, by_sentence.ranked_facts(covered, cosine, sentence_cosine), cfg.min_flipped)
    critical = bool(reasons)
    best = float(score[chosen[0]])
    if _states_nothing(facts):
        pass  # "Noncontributory.", "Otherwise negative.": no claim a source could back or contradict
    elif best < cfg.min_support and float(cosine.max()) < cfg.min_similarity:
        reasons.append(f"no supporting sentence (best similarity {float(cosine.max()):.2f})")
    evidence = by_sentence([passages[i] for i in chosen], terms, sentence_cosine)
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


_HEADING = re.compile(r"^(?:#{1,6}\s+[^\d]+|[^\d:]{1,60}:)$")
_HEADING_WORDS = 8


def _is_heading(text: str) -> bool:
    """True for a drafted line that is a section heading: a markdown ``#`` heading, or a short line (a few words)
    ending with a colon; neither carries a number (a number makes it a claim, "Weight: 80 kg" is not a heading)."""
    line = text.strip().strip("*_").strip()
    return "\n" not in line and len(line.split()) <= _HEADING_WORDS and bool(_HEADING.match(line))


_LABEL = re.compile(r"^\s*[A-Za-z][A-Za-z /&-]{0,30}:\s+(?=\S)")


def _claim(text: str) -> str:
    """``text`` without a leading section label ("Work status: on sick leave." -> "on sick leave."): the label
    (a few words, no number) names the section, it is not a claim, and its words ("work") must not take the
    polarity of the claim or be matched against the source."""
    m = _LABEL.match(text)
    return text[m.end():] if m and len(m.group().split()) <= 4 else text


class _SourceSentences:
    """The source read sentence by sentence, for the two things passages are too coarse for: the polarity of a
    term (:meth:`ranked_facts`) and the evidence a reviewer reads (calling the object).

    Evidence is the best source sentence inside each supporting passage, not the passage.

    Passages (windows of up to three turns) are right for scoring, because a summary sentence fuses a question
    and its answer, but a reviewer needs the one sentence that backs the claim. Inside each chosen passage the
    sentence scoring best against the drafted sentence (same mix of cosine and term overlap as the passages) is
    the evidence; a question keeps its answer's first sentence (the "No." that makes it a denial), and a bare
    short answer keeps the question before it. Longer than ``_MAX_CHARS``, a span is cut at a word boundary.
    """

    _MAX_CHARS = 300
    _SHORT_ANSWER_WORDS = 3

    def __init__(self, source: str, pieces: list[_Piece], sentences: list[_Passage], ranges: list[tuple[int, int]],
                 cfg: GroundingConfig) -> None:
        self.source, self.pieces, self.sentences, self.ranges, self.cfg = source, pieces, sentences, ranges, cfg
        self._terms: dict[int, frozenset[str]] = {}
        self._facts: dict[int, Facts] = {}

    def _sentence_terms(self, i: int) -> frozenset[str]:
        if i not in self._terms:
            self._terms[i] = extract_facts(self.sentences[i].text).terms
        return self._terms[i]

    def _polar_facts(self, i: int) -> Facts:
        """Facts of source sentence ``i`` read as a clause of its turn: a question sentence of an answered turn
        takes the reply's polarity, a leading bare "No," negates nothing."""
        if i not in self._facts:
            piece = self.pieces[self.sentences[i].first]
            text = strip_answer_word(self.sentences[i].text)
            self._facts[i] = extract_facts(text, piece.answer if asks_question(text) else None)
        return self._facts[i]

    def ranked_facts(self, covered: set[int], piece_cosine: np.ndarray, cosine: np.ndarray) -> list[Facts]:
        """Facts of the sentences of the ``covered`` pieces that resemble the drafted sentence (the piece's
        cosine at least ``min_polarity_similarity``): the nearest piece first, and inside a piece the nearest
        sentence first. Polarity is judged clause by clause, so a turn that says a term both ways ("No fever
        now. The fever started Monday.") is decided by its sentence closest to the drafted one."""
        order = sorted((k for k in covered if piece_cosine[k] >= self.cfg.min_polarity_similarity),
                       key=lambda k: -piece_cosine[k])
        return [self._polar_facts(i) for k in order
                for i in sorted(range(self.ranges[k][0], self.ranges[k][1] + 1), key=lambda i: -cosine[i])]

    def __call__(self, chosen: list[_Passage], terms: frozenset[str], cosine: np.ndarray) -> tuple[Evidence, ...]:
        out: dict[tuple[int, int], Evidence] = {}
        w = self.cfg.semantic_weight
        for passage in chosen:
            lo, hi = self.ranges[passage.first][0], self.ranges[passage.last][1]
            inside = [i for i in range(lo, hi + 1)
                      if self.sentences[i].start >= passage.start and self.sentences[i].end <= passage.end]
            if not inside:
                continue
            overlap = {i: len(terms & self._sentence_terms(i)) / len(terms) if terms else 0.0 for i in inside}
            best = max(inside, key=lambda i: w * float(cosine[i]) + (1 - w) * overlap[i])
            start, end = self._span(best)
            if all(end <= s or start >= e for s, e in out):  # a sentence shown once, not again inside a pair
                out[(start, end)] = Evidence(start, end, self.source[start:end], round(float(cosine[best]), 4),
                                             round(float(overlap[best]), 4))
        return tuple(out.values())

    def _span(self, i: int) -> tuple[int, int]:
        """Character span of sentence ``i`` with the answer or question it needs to be read right."""
        sentence, k = self.sentences[i], self.sentences[i].first
        start, end = sentence.start, sentence.end
        if (self.pieces[k].answered and (i == self.ranges[k][1] or "?" in sentence.text)
                and k + 1 < len(self.pieces)):
            end = self.sentences[self.ranges[k + 1][0]].end  # the question's answer: "Patient: No."
        elif (k > 0 and self.pieces[k - 1].answered and i == self.ranges[k][0]
              and len(sentence.text.split()) <= self._SHORT_ANSWER_WORDS):
            start = self.sentences[self.ranges[k - 1][1]].start  # "No." alone says nothing: show what it answers
        if end - start > self._MAX_CHARS:
            cut = self.source.rfind(" ", start, start + self._MAX_CHARS)
            end = cut if cut > start else start + self._MAX_CHARS
        return start, end


def _merge(pieces: list[_Piece], indices: set[int]) -> Facts:
    """The facts of the pieces at ``indices`` together."""
    facts = _NO_FACTS
    for i in sorted(indices):
        facts = facts.merge(pieces[i].facts)
    return facts


def _unsupported(draft: str, start: int, end: int, reason: str) -> SentenceCheck:
    return SentenceCheck(draft[start:end], start, end, False, False, (reason,), (), 0.0)
