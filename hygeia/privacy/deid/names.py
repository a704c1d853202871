"""Find people's names in clinical text, in any letter case.

spaCy's small model finds mixed-case names in prose but misses ``KOWALSKI`` in an ALL-CAPS nursing
note and ``mary`` in a lower-case message, and it calls ``Foley`` or ``Lasix`` a person. The
:class:`NameRecognizer` combines evidence that does not depend on case:

- a title before the name (``Dr``, ``Mrs``) or a credential after it (``MD``, ``RN``, ``NP``);
- a relation or role before it (``daughter``, ``HCP``, ``seen by``, ``Dear``, ``Patient:``) or a
  report verb after it (``BGF AWARE``, ``Smith notified``);
- the word lists (:mod:`.lexicon`): a first or last name that is not an ordinary word counts on its
  own; one that is ("Will", "Hope", "Brown") only next to other evidence;
- spaCy's PERSON entities, filtered by the clinical allow-list;
- growth to neighbouring initials and names (``John Q. Public``, ``Smith, Anna``), never across a
  sentence end, a line end or a column gap;
- transcription marks: ``JS/mk`` and ``J.S./jsmith12`` (author initials / typist or user name).

Letter case is judged per line: capitals say something about names only on a mixed-case line.
A word on the clinical allow-list (``Foley``, ``Parkinson``) or followed by an eponym's head noun
(``Jones fracture``, ``Salem sump``) or a dose (``Heather 0.35 mg``) is kept unless a title or
credential says otherwise. :mod:`.resolve` then marks every other occurrence of a found name in
the note (propagation), so one strong cue covers the whole note.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from presidio_analyzer import EntityRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

from hygeia.privacy.deid.lexicon import Lexicon, fold, lexicon

ENTITY = "PERSON_NAME"

_L = r"[^\W\d_]"  # any letter, accented ones included ("Ó Dorchaidhe", "GIRÓN")
_TOKEN = re.compile(rf"(?<![^\W_]){_L}(?:(?:{_L}|['’\-])*{_L})?(?![^\W\d_])\.?|\n|[ \t]{{2,}}|[,:;()/]")
TITLES = frozenset("dr doctor mr mrs ms miss mx prof professor".split())
CREDENTIALS = frozenset(
    "md m.d. do phd ph.d. rn np pa pa-c dds dmd pharmd lpn lcsw licsw msw cnm crna fnp anp dnp mbbs facp facs "
    "aprn rph cns".split())
_CASE_CREDENTIALS = frozenset({"do", "pa", "cns"})  # also words: only upper case counts ("Smith DO", not "to do")
# relations and sign-offs: the next capitalised (or, on a one-case line, unlisted but no plain) word is a name
RELATIONS = frozenset(
    "daughter son wife husband mother father mom dad brother sister sibling niece nephew aunt uncle grandson "
    "granddaughter grandmother grandfather grandchild cousin friend partner boyfriend girlfriend fiance fiancee "
    "spouse neighbor neighbour hcp proxy guardian caregiver dear name caller contact guarantor "
    "sincerely regards attending pcp physician surgeon resident intern fellow nurse".split())
# weaker roles: the next word must be a listed name
ROLES = frozenset(
    "seen examined evaluated discussed spoke spoken called paged notified signed dictated transcribed by with "
    "w/ d/w from to per cc updated handled reviewed cosigned patient pt re".split())
# report verbs after a name or initials: "BGF AWARE", "Dr Lee notified"
AFTER = frozenset("aware notified paged updated informed agrees agreed called".split())
# head nouns after an eponym: "Jones fracture", "Bell palsy", "Murphy's sign", "Salem sump"
EPONYM_HEADS = frozenset(
    "disease syndrome sign signs test maneuver manoeuvre fracture catheter criteria score scale tube drain "
    "classification phenomenon reflex palsy stain procedure operation repair ulcer triad node nodes lesion "
    "reaction position murmur cyst disorder lymphoma sarcoma tumor tumour method solution bag mask hose "
    "stockings sump pump protocol equation formula rule law's".split())
_DOSE = re.compile(r"\s*\d+(?:\.\d+)?\s*(?:mg|mcg|g|ml|units?|tabs?|tablets?|caps?|day|%)\b", re.I)
_NOT_LETTER = re.compile(r"[\W\d_]+")
_NOT_UPPER = re.compile(r"[^A-ZÀ-ÖØ-Þ]+")
_CUES = TITLES | CREDENTIALS | RELATIONS | ROLES | AFTER
_STOPS = frozenset("the a an at in on of to from for with and or by as is was be are were per via".split())
_PARTICLES = frozenset("de da del della di do dos das du van von der den la le al el bin ben ter ten o mac mc st".split())
_LATIN = frozenset("eg ie am pm vs cf al nb ps ad".split())  # "e.g.", "a.m.": abbreviations, not initials
_FINAL_INITIALS = re.compile(r"(?<=[.;] )(?P<init>(?:[A-Za-z]\. ?){1,3}|[a-z]{2,3})[ \t]*$", re.M)
_SKIP = frozenset({",", "(", ":", "\n"})
# "... is a 45 year-old": the words before name the patient
_INTRODUCED = re.compile(r"\s+is\s+an?\s+\d{1,3}[\s-]*(?:years?\b|yrs?\b|yo\b|y/o|y\.o\.|-year)", re.I)
_SIGNATURE = re.compile(r"(?<![\w/])(?P<init>(?:[A-Z]\.? ?){1,3}[A-Z]\.?|[A-Z]{2,3})/(?P<user>[a-z][a-z0-9._]{1,})"
                        r"(?![\w/])")


@dataclass
class _Tok:
    start: int
    end: int
    text: str  # without a trailing "."
    dotted: bool
    line_mode: str = "mixed"
    key: str = ""  # the folded text, read a dozen times per token: computed once

    def __post_init__(self) -> None:
        if not self.key:
            self.key = fold(self.text)

    @property
    def word(self) -> bool:
        return self.text[0].isalpha()

    @property
    def initial(self) -> bool:
        return len(self.text) == 1 and self.text.isalpha()


def _number_between(text: str, cue: _Tok, tok: _Tok) -> bool:
    """"spoke to Lee" names Lee; "fever to 39.2 C" names no one: a number between cue and word breaks the cue."""
    return any(ch.isdigit() for ch in text[cue.end:tok.start])


@lru_cache(maxsize=8192)  # every recognizer asks about the same lines
def case_mode(text: str, short: bool = False) -> str:
    """"upper", "lower" or "mixed": on the first two, capitals say nothing about names.

    Text of fewer than 12 letters gives "" (too short to tell), unless ``short`` is set."""
    letters = len(_NOT_LETTER.sub("", text))
    if letters < (1 if short else 12):
        return ""  # too short to tell: the caller falls back to the note's mode
    upper = len(_NOT_UPPER.sub("", text)) / letters
    return "upper" if upper > 0.75 else "lower" if upper < 0.02 else "mixed"


def tokens(text: str) -> list[_Tok]:
    """Words (with a trailing dot noted), newlines, column gaps and the punctuation that names sit by."""
    note_mode = case_mode(text) or "mixed"
    out = []
    pos = 0
    for line in text.splitlines(keepends=True):
        mode = case_mode(line) or note_mode
        for m in _TOKEN.finditer(line):
            raw = m.group()
            dotted = raw.endswith(".") and len(raw) > 1
            word = raw[:-1] if dotted else raw
            out.append(_Tok(pos + m.start(), pos + m.start() + len(word), word, dotted, mode))
        pos += len(line)
    return out


class NameRecognizer(EntityRecognizer):
    """Presidio recognizer for names of patients, clinicians and relatives (entity ``PERSON_NAME``).

    >>> [text[a:b] for a, b, _ in NameRecognizer().find(text := "PT SEEN BY DR KOWALSKI. WIFE MARY AT BEDSIDE.")]
    ['KOWALSKI', 'MARY']
    """

    def __init__(self, lex: Lexicon | None = None) -> None:
        self.lex = lex or lexicon()
        self._eponyms = self.lex.eponyms
        super().__init__(supported_entities=[ENTITY], name="HygeiaNameRecognizer",
                         context=sorted(TITLES | RELATIONS | ROLES))

    def load(self) -> None:  # word lists are loaded in __init__ (shared, cached)
        pass

    # -- word classes ------------------------------------------------------------------------------
    def _listed(self, tok: _Tok) -> bool:
        return self.lex.is_name(tok.key)

    def _plain(self, tok: _Tok) -> bool:
        return self.lex.is_common(tok.key)

    def _candidate(self, tok: _Tok, *, listed_only: bool, allow_clinical: bool = False, titled: bool = False
                   ) -> bool:
        """Could ``tok`` be (part of) a name after a cue? ``listed_only``: it must be a listed name;
        ``titled``: it follows a title directly, so even a plain word ("DR LOVE") is a name."""
        if not tok.word or tok.key in _CUES or tok.key in _STOPS:
            return False
        if tok.initial:
            return tok.text.isupper() or tok.dotted
        if tok.key in self.lex.clinical and not allow_clinical:
            return False
        if tok.line_mode == "mixed":
            if not tok.text[0].isupper():
                return False
            return self._listed(tok) or not (listed_only or self._plain(tok)) or titled
        if titled:
            return not tok.key.endswith("ed")  # "DR LOVE", not "DR ORDERED"
        if self._plain(tok):
            return False
        return self._listed(tok) or not listed_only

    def _strong(self, tok: _Tok) -> bool:
        """A listed name that is no ordinary word: counts without any other cue."""
        if len(tok.key) < 3 or not self._listed(tok) or self._plain(tok):
            return False
        return tok.line_mode != "mixed" or tok.text[0].isupper()

    def _vetoed(self, text: str, toks: Sequence[_Tok], i: int) -> bool:
        """An eponym or a drug in use, not a person: "Jones fracture", "Murphy's sign", "Nora 0.35 mg"."""
        nxt = toks[i + 1] if i + 1 < len(toks) else None
        if nxt is not None and (nxt.key in EPONYM_HEADS or nxt.text[:1].isupper() and
                                re.sub(r"['’]s$", "", nxt.key) in self._eponyms):
            return True  # "Jones fracture", "Lou Gehrig"
        tail = text[toks[i].end:toks[i].end + 24]
        head = re.match(r"['’]s\s+([A-Za-z]+)", tail)
        if head and head.group(1).lower() in EPONYM_HEADS:
            return True
        if re.match(r"\s*:", tail):  # "DOB:", "MRN:": a field label
            return True
        return bool(_DOSE.match(tail))

    # -- evidence ----------------------------------------------------------------------------------
    def find(self, text: str, person_spans: Sequence[tuple[int, int]] = ()) -> list[tuple[int, int, float]]:
        """Character spans ``(start, end, score)`` of names in ``text``."""
        toks = tokens(text)
        marked = [0.0] * len(toks)

        def run(j: int, limit: int, score: float, **kw: bool) -> None:
            """Mark the name words from ``j`` on: the first by the cue's rule, the rest as name-like words."""
            while j < len(toks) and j <= limit:
                tok = toks[j]
                if tok.key in _PARTICLES and j + 1 < len(toks) and toks[j + 1].word:  # "de Crúis", "DA PAZ"
                    marked[j] = max(marked[j], score)
                    j += 1
                    continue
                if not (self._candidate(tok, **kw) or self._surname_first(toks, j)) or (
                        not kw.get("allow_clinical") and self._vetoed(text, toks, j)):
                    break
                marked[j] = max(marked[j], score)
                if tok.dotted and not tok.initial:
                    break  # a sentence ends here
                j += 1
                kw = {"listed_only": tok.line_mode != "mixed", "allow_clinical": False}

        for i, tok in enumerate(toks):
            if not tok.word:
                continue
            key = tok.key
            if key in TITLES and (i + 1 < len(toks)):
                run(i + 1, i + 3, 0.95, listed_only=False, allow_clinical=True, titled=True)
            elif self._credential(tok, i):
                self._before(toks, marked, i, text)
            elif key in RELATIONS and not tok.dotted:
                sign_off = key in ("sincerely", "regards", "dear")
                j = self._skip(toks, i + 1, newlines=sign_off)
                if j < len(toks) and toks[j].key not in TITLES and not _number_between(text, tok, toks[j]):
                    run(j, j + 3, 0.85, listed_only=False, allow_clinical=sign_off)
            elif key in ROLES and not tok.dotted:
                j = self._skip(toks, i + 1, newlines=False)
                if j < len(toks) and toks[j].key not in TITLES and not _number_between(text, tok, toks[j]):
                    run(j, j + 3, 0.8, listed_only=True)
            if (key in AFTER or self._review_cue(text, tok)) and i > 0:
                self._before_report(toks, marked, i)
            if self._strong(tok) and not self._vetoed(text, toks, i):
                marked[i] = max(marked[i], 0.6)
        for start, end in person_spans:  # spaCy PERSON: words that are no clinical or plain word
            for i, tok in enumerate(toks):
                if start <= tok.start and tok.end <= end and self._ner_word(tok, toks, i, text):
                    marked[i] = max(marked[i], 0.55)
        self._introduced(text, toks, marked)
        self._grow(toks, marked, text)
        spans = self._spans(text, toks, marked)
        for m in _SIGNATURE.finditer(text):  # "JS/mk", "J.S./jsmith12": author initials and typist
            init = m.group("init").replace(".", "").replace(" ", "")
            if "." in m.group("init") or not (self.lex.is_clinical(init) or self.lex.is_common(init)):
                spans += [(m.start("init"), m.end("init"), 0.7), (m.start("user"), m.end("user"), 0.7)]
        for end in _FINAL_INITIALS.finditer(text):  # "... rtc 6/4/2078. t. a.": the writer's initials end the line
            init = end.group("init").strip()
            letters = re.sub(r"[. ]", "", init).lower()
            if letters not in _LATIN and ("." in init or not (self.lex.is_common(init) or self.lex.is_clinical(init))):
                spans.append((end.start("init"), end.start("init") + len(init), 0.6))
        return spans

    def _introduced(self, text: str, toks: Sequence[_Tok], marked: list[float]) -> None:
        """"Anna Kowalski is a 45 year-old ...": the words that open a note's first line about the patient."""
        starts = [t.start for t in toks]
        for m in _INTRODUCED.finditer(text):
            j = bisect.bisect_left(starts, m.start()) - 1
            run = []
            while j >= 0 and len(run) < 3 and self._candidate(toks[j], listed_only=False) and \
                    not self._vetoed(text, toks, j):
                run.append(j)
                j -= 1
            if run and (j < 0 or not toks[j].word or toks[j].dotted or toks[j].key in _STOPS | TITLES):
                for k in run:  # the name starts its clause ("Anna Kowalski is", not "Labs today is")
                    marked[k] = max(marked[k], 0.75)

    @staticmethod
    def _skip(toks: Sequence[_Tok], j: int, newlines: bool) -> int:
        while j < len(toks) and (toks[j].text in _SKIP and (newlines or toks[j].text != "\n")):
            j += 1
        return j

    def _credential(self, tok: _Tok, i: int) -> bool:
        key = tok.key + ("." if tok.dotted and "." in tok.key else "")
        if key not in CREDENTIALS and tok.key not in CREDENTIALS:
            return False
        return i > 0 and not (tok.key in _CASE_CREDENTIALS and not tok.text.isupper())

    def _surname_first(self, toks: Sequence[_Tok], j: int) -> bool:
        """"GEORGIOU, MARK" / "Yoon, Hye-jin" right after a cue: an unlisted surname before a comma and a given name."""
        if j + 2 >= len(toks) or toks[j + 1].text != "," or not toks[j].word or toks[j].initial:
            return False
        first, given = toks[j], toks[j + 2]
        ok = [t.word and not t.initial and t.key not in self.lex.clinical and t.key not in _CUES and
              (t.line_mode != "mixed" or t.text[0].isupper()) for t in (first, given)]
        return all(ok) and not self._plain(first) and (given.key in self.lex.first_names or not self._plain(given))

    @staticmethod
    def _review_cue(text: str, tok: _Tok) -> bool:
        """"darwish to review": a sign-off of sloppy notes."""
        return tok.key == "to" and re.match(r"\s+(?:review|see|follow|f/u|call)\b", text[tok.end:tok.end + 10]) is not None

    def _before_report(self, toks: list[_Tok], marked: list[float], i: int) -> None:
        """Before "AWARE", "notified", "called", "to review": initials or a name that starts the clause."""
        j = i - 1
        initials = []
        while j >= 0 and toks[j].initial and toks[j].dotted:  # "e. g. called"
            initials.append(j)
            j -= 1
        if len(initials) >= 2:
            for k in initials:
                marked[k] = max(marked[k], 0.7)
            return
        prev = toks[i - 1]
        if not prev.word or prev.key in _CUES or prev.key in _STOPS or prev.key in self.lex.clinical:
            return
        starts = i < 2 or toks[i - 2].dotted or toks[i - 2].text in (":", "\n") or toks[i - 2].key in _STOPS
        short = 2 <= len(prev.key) <= 3 and (prev.text.isupper() or prev.line_mode == "lower")
        if (short and not self._plain(prev)) or self._listed(prev) and not self._plain(prev) or (
                starts and prev.line_mode == "lower" and len(prev.key) > 3):
            marked[i - 1] = max(marked[i - 1], 0.7)
            if i >= 3 and toks[i - 2].key in _PARTICLES:  # "o siothchain"
                marked[i - 2] = max(marked[i - 2], 0.7)

    def _before(self, toks: list[_Tok], marked: list[float], i: int, text: str) -> None:
        """A credential: the one to three name words before it (skipping one comma)."""
        j = i - 1
        if j >= 0 and toks[j].text == ",":
            j -= 1
        if j >= 0 and toks[j].line_mode != "mixed" and not (self._listed(toks[j]) or toks[j].initial):
            return  # "CHEST RADIOGRAPH, PA" is no "SMITH, PA"
        while j >= 0 and j >= i - 4 and self._candidate(toks[j], listed_only=False, allow_clinical=True):
            if toks[j].dotted and not toks[j].initial:
                break
            marked[j] = max(marked[j], 0.9)
            j -= 1
            if j >= 1 and toks[j].text == "," and toks[j - 1].word:  # "Smith, John, MD"
                j -= 1

    def _ner_word(self, tok: _Tok, toks: Sequence[_Tok], i: int, text: str) -> bool:
        if not tok.word or not tok.text[0].isupper() or tok.key in TITLES or tok.key in CREDENTIALS:
            return False
        if tok.line_mode != "mixed" or re.match(r"\s*\d", text[tok.end:tok.end + 3]):
            return False  # spaCy guesses on one-case lines; "K 3.8, Glu 195" are lab values
        if tok.text.isupper() and len(tok.text) <= 4 and not self._listed(tok):
            return False  # "MMM", "EOMI": abbreviations
        if tok.initial and re.search(r"[\d/]\s?$", text[max(0, tok.start - 2):tok.start]):
            return False  # "39.2 C", "nmol/L": a unit after a number, not an initial
        if tok.key in self.lex.clinical or self._vetoed(text, toks, i) or tok.key in _CUES:
            return False
        return tok.initial or not self._plain(tok) or self._listed(tok)

    def _grow(self, toks: list[_Tok], marked: list[float], text: str) -> None:
        """Extend each name over adjacent initials and names on the same line (no sentence end between)."""
        changed = True
        while changed:
            changed = False
            for i, score in enumerate(marked):
                if not score:
                    continue
                for j in (i - 1, i + 1):
                    if not (0 <= j < len(toks)) or marked[j]:
                        continue
                    left = toks[min(i, j)]
                    if left.dotted and not left.initial:
                        continue  # a sentence ends between the two
                    if self._joins(toks, j, text, after=j > i):
                        marked[j] = score * 0.9
                        changed = True
                # "Smith, Anna" / "SMITH, JOHN T": a comma, then a first name (and its initial)
                if i + 2 < len(toks) and toks[i + 1].text == "," and not marked[i + 2] and not toks[i].dotted:
                    nxt = toks[i + 2]
                    given = nxt.key in self.lex.first_names and (score >= 0.8 or not self._plain(nxt)) or (
                        score >= 0.8 and nxt.word and not nxt.initial and not self._plain(nxt) and nxt.key not in _CUES)
                    if given and nxt.key not in self.lex.clinical and (nxt.line_mode != "mixed" or nxt.text[0].isupper()):
                        marked[i + 2] = score * 0.9
                        changed = True
                # "YOUNG, ROBERT": a listed surname before the comma of a found first name
                if i >= 2 and toks[i - 1].text == "," and not marked[i - 2] and toks[i].key in self.lex.first_names:
                    prev = toks[i - 2]
                    if prev.word and self._listed(prev) and prev.key not in _CUES and (
                            prev.line_mode != "mixed" or prev.text[0].isupper()) and not prev.dotted:
                        marked[i - 2] = score * 0.9
                        changed = True

    def _joins(self, toks: Sequence[_Tok], j: int, text: str, after: bool) -> bool:
        tok = toks[j]
        if not tok.word or tok.key in _CUES:
            return False
        if tok.initial:
            return tok.text.isupper() and (tok.dotted or tok.line_mode == "mixed" or after)
        if self._vetoed(text, toks, j) or tok.key in self.lex.clinical:
            return False
        if tok.line_mode == "mixed":
            return tok.text[0].isupper() and (self._listed(tok) or not self._plain(tok))
        # one-case line: a listed name joins even if it is a plain word ("ROBERT YOUNG"), an unlisted word
        # only if it is no plain word either ("JI-HOON PARK") nor shaped like a verb ("SIGNED")
        return self._listed(tok) or (not self._plain(tok) and len(tok.key) > 2 and
                                     not tok.key.endswith(("ed", "ing", "ly")))

    @staticmethod
    def _spans(text: str, toks: Sequence[_Tok], marked: Sequence[float]) -> list[tuple[int, int, float]]:
        """One span per name: words joined by a space, an initial's dot or a comma ("Smith, John Q.")."""
        spans: list[tuple[int, int, float]] = []
        for tok, score in zip(toks, marked):
            if not score:
                continue
            end = tok.end + (1 if tok.initial and tok.dotted else 0)
            while end < len(text) and text[end].isdigit():  # "Larue605": a name glued to a number
                end += 1
            if spans and re.fullmatch(r"\.? ?,? ?", text[spans[-1][1]:tok.start]) and tok.start >= spans[-1][1]:
                spans[-1] = (spans[-1][0], end, max(spans[-1][2], score))
            else:
                spans.append((tok.start, end, score))
        return spans

    def analyze(self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
                ) -> list[RecognizerResult]:
        """Presidio entry point: the names in ``text`` as ``PERSON_NAME`` results."""
        persons = []
        if nlp_artifacts is not None:
            persons = [(e.start_char, e.end_char) for e in nlp_artifacts.entities if e.label_ == "PERSON"]
        return [RecognizerResult(ENTITY, start, end, score) for start, end, score in self.find(text, persons)]
