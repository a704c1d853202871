"""Hospitals, cities and other places: a Presidio recognizer that works in any letter case.

- Facilities: a facility word ("Hospital", "Medical Center", "Clinic", "Nursing Home", "Family
  Practice", ...) and the name words before it, walked back until a stop word, a plain lower-case
  word, punctuation or a line end ("transferred from MERCY HOSPITAL" keeps ``MERCY HOSPITAL``).
  The same walk finds other places ("Salem Public Library", "Joliet YMCA", "Copeland Pharmacy").
- Organisations named as employers ("works at Cruz-Baker and ...").
- Cities: "Springfield, MA" / "Springfield, Massachusetts" / "Brockton 53049"; a listed US or
  Canadian city, or a word shaped like a town name ("-ton", "-ville", "Port ..."), after a place
  word ("lives in", "from", "moved to"); spaCy GPE entities that are no state, country or
  clinical word.
- spaCy ORG/FAC/LOC entities, trimmed to the facility word and to one line.

States and countries are not PHI under Safe Harbor and are never reported.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from presidio_analyzer import EntityRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

from hygeia.privacy.deid import caseless
from hygeia.privacy.deid.lexicon import Lexicon, fold, lexicon
from hygeia.privacy.deid.names import case_mode
from hygeia.privacy.deid.recognizers import STATE_CODES, STATE_NAMES

_FACILITY = re.compile(
    r"(?<![\w])(?:hospital(?:\s+cent(?:er|re))?|medical\s+cent(?:er|re)|med\.?\s+ctr|health\s+cent(?:er|re)|"
    r"health\s*care|health\s+system|clinic|infirmary|hospice|rehabilitation\s+(?:center|hospital|facility)|"
    r"rehab(?:\s+center)?|nursing\s+home|skilled\s+nursing(?:\s+facility)?|nursing\s+facility|medical\s+group|"
    r"cancer\s+(?:center|institute)|institute|sanatorium|memorial|surgical\s+center|urgent\s+care|"
    r"(?:family|internal)\s+(?:practice|medicine)|primary\s+care|pediatrics|associates|(?:neurology|cardiology|"
    r"oncology|orthopedic|orthopaedic|medical|physician|surgical|dermatology|urology|gi)\s+(?:group|associates)|"
    r"(?:senior|assisted)\s+living|care\s+center|rehab(?:ilitation)?\s+center|va\s+medical|manor)(?![\w])", re.I)
_PLACE = re.compile(
    r"(?<![\w])(?:ymca|ywca|(?:senior|community|transit|recreation|shopping|fitness|wellness)\s+cent(?:er|re)|"
    r"public\s+library|library|stadium|arena|mall|park|beach|church|cathedral|synagogue|mosque|temple|school|"
    r"high\s+school|elementary|academy|college|university|museum|zoo|airport|station|plaza|market|gym|"
    r"pharmacy|drugs?|apothecary|casino|hotel|motel|shelter|prison|jail|correctional\s+facility|group|inc|llc|"
    r"plc|ltd|corp|corporation|company|partners|& sons)(?![\w])", re.I)
# "Lake Mayer", "Mount Vernon", "Fort Lee": a place word before a name
_PREFIXED = re.compile(r"(?<![\w])(?:lake|mount|mt\.?|fort|ft\.?|port|camp|cape|lake)\s+(?P<name>[^\W\d_][\w'’\-]+)", re.I)
# words that belong inside facility names although they are ordinary English words
_NAME_WORDS = frozenset(
    "general memorial community university regional county city medical children's childrens women's womens mercy "
    "saint st st. good samaritan sacred heart valley mount mt north south east west new lake river hill park baptist "
    "methodist presbyterian lutheran christian jewish veterans va state national central united family hope grace "
    "trinity holy cross spirit providence deaconess pine ridge cedar oak maple shore bay island view lakeview "
    "northshore southshore brookside riverside hillside fairview mountain spring springs green grove".split())
_SPECIALTY = frozenset(
    "cardiology neurology oncology orthopedic orthopaedic dermatology urology gi pediatric pediatrics psychiatry "
    "radiology surgery surgical medical primary internal family emergency outpatient inpatient the a an our "
    "your his her their this that outside local".split())
_PLACE_CUE = re.compile(
    r"\b(?:in|from|to|near|of|lives|living|resides|residing|moved|visiting|born|native|resident|town|city|"
    r"travel(?:l?ed)?|trip|home)\W{1,3}$", re.I)
# cues that name a home town whatever it is called ("lives in Quarry Bend", "moved here from Oakhurst"):
# after them a capitalised name that is no plain or clinical word is a town even when no list has it
_HOME_CUE = re.compile(
    r"\b(?:(?:lives|living|resides|residing|reside|live|settled|located|stays|staying)\s+(?:here\s+)?in|"
    r"(?:moved|relocated|relocating|moving)\s+(?:here\s+|back\s+)?(?:to|from)|resident\s+of|born\s+in|"
    r"(?:native|natives?)\s+of|hometown(?:\s+(?:is|of))?|grew\s+up\s+in|raised\s+in|(?:originally|is)\s+from|"
    r"visiting\s+from|home\s+in)\W{1,3}(?=[^\W\d_])", re.I)
_PLACE_CUE_ANY = re.compile(_PLACE_CUE.pattern.replace("\\W{1,3}$", "\\W{1,3}(?=[^\\W\\d_])"), re.I)
# "works at", "employed by", "retired from", and with the trade between: "works as a machinist at",
# "employed as a cashier for", "works in shipping at"
_EMPLOYER = re.compile(r"\b(?:works?|worked|working|employed|employee|job|retired)"
                       r"(?:\s+(?:as|in)\s+(?:an?\s+)?[a-z][a-z\-]*(?:\s+[a-z][a-z\-]*)?)?"
                       r"\s+(?:at|for|by|with|from)\s+(?:the\s+)?|\bemployer\s*:\s*", re.I)
_ORG_WORD = re.compile(r"[^\W\d_][\w'’&\-]*\.?|&")
_TOWN_PREFIX = frozenset("north south east west new lake port fort mount mt st. saint".split())
_WORD = re.compile(r"[^\W\d_][\w'’.\-]*")
_CITY_STATE = re.compile(rf"(?:,\s*(?-i:{STATE_CODES})\b\.?|,\s*(?:{STATE_NAMES})\b|"
                         rf"\s+(?:(?-i:{STATE_CODES})|{STATE_NAMES})\b\.?(?=,?\s+\d{{5}}(?:-\d{{4}})?(?![\w\-])))", re.I)
# "Ludlow MA." / "Ludlow MA" at a line end, "a Fall River resident": a listed town before a bare state code
# or a word that says someone lives there (the town must be listed: "Tell ME", "a hospital resident" stay)
_CITY_BARE_STATE = re.compile(rf"\s+(?-i:{STATE_CODES})\b\.?(?=[ \t]*(?:[;,)]|\.(?!\w)|$))", re.M)
_CITY_NOUN = re.compile(r"\s+(?:residents?|natives?|area|native|native-born)\b", re.I)
_CITY_ZIP = re.compile(r"(?:,\s*|\s+)(?:[A-Za-z]{2}\.?,?\s+)?\d{5}(?:-\d{4})?(?![\w\-])")
_TITLES = frozenset("dr doctor mr mrs ms miss prof".split())
_STOP = frozenset("the a an at in on of to from for with and or by as is was be are were per via into onto near "
                  "than then that this these those his her their our your my its".split())


def _upper_line(text: str, pos: int) -> bool:
    start = text.rfind("\n", 0, pos) + 1
    end = text.find("\n", pos)
    return case_mode(text[start:end if end >= 0 else len(text)], short=True) == "upper"


class LocationRecognizer(EntityRecognizer):
    """Presidio recognizer for ``HOSPITAL``, ``CITY`` and ``LOCATION`` entities."""

    def __init__(self, lex: Lexicon | None = None) -> None:
        self.lex = lex or lexicon()
        super().__init__(supported_entities=["HOSPITAL", "CITY", "LOCATION"], name="HygeiaLocationRecognizer",
                         context=["hospital", "clinic", "lives", "from", "transferred"])

    def load(self) -> None:
        pass

    # -- facilities and places: name words before a kind word ---------------------------------------
    def _walk_back(self, text: str, start: int, one_case: bool) -> int:
        """Start of the name words right before ``start`` (``start`` itself when there are none)."""
        begin = start
        count = 0
        for word in reversed(list(_WORD.finditer(text[max(0, start - 80):start]))):
            offset = max(0, start - 80)
            between = text[offset + word.end():begin]
            if between not in (" ", " & ", "-") or count >= 4:
                break
            raw = word.group().rstrip(".") if not word.group().lower().startswith("st.") else word.group()
            key = fold(raw)
            if key in _STOP or key.rstrip(".") in _STOP or key.rstrip(".") in _TITLES:
                break
            if not one_case and not raw[0].isupper():
                break
            # a plain word ends the name, unless it is also a person's or town's name ("Carpenter", "Normal")
            plain = self.lex.is_common(key) and key not in _NAME_WORDS and not (
                self.lex.is_name(key) or self.lex.is_city(key))
            if plain or key in self.lex.clinical and not self.lex.is_name(key) or one_case and key.endswith("ed"):
                break
            begin = offset + word.start()
            count += 1
        return begin

    def facilities(self, text: str) -> list[tuple[str, int, int, float]]:
        spans = []
        lowered = text.lower()  # one lower-casing for both patterns (see .caseless)
        for entity, pattern in (("HOSPITAL", _FACILITY), ("LOCATION", _PLACE)):
            for match in caseless.finditer(pattern, text, lowered):  # the match is lower-cased: read text
                one_case = not any(c.isupper() for c in text[match.start():match.end()]) or \
                    _upper_line(text, match.start())
                begin = self._walk_back(text, match.start(), one_case)
                names = [fold(w) for w in _WORD.findall(text[begin:match.start()])]
                if any(w.rstrip(".") not in _SPECIALTY for w in names):
                    spans.append((entity, begin, match.end(), 0.85))
        for match in _PREFIXED.finditer(text):
            name = match.group("name")
            one_case = _upper_line(text, match.start()) or match.group().islower()
            if fold(name) in _STOP or self.lex.is_clinical(name) or not (one_case or name[0].isupper()):
                continue
            if (not self.lex.is_common(name) or self.lex.is_name(name)) and (one_case or match.group()[0].isupper()):
                spans.append(("LOCATION", match.start(), match.end(), 0.7))
        return spans

    def employers(self, text: str) -> list[tuple[int, int, float]]:
        """The organisation after "works at", "employed by", "Employer:" (up to the first plain word)."""
        spans = []
        for cue in caseless.finditer(_EMPLOYER, text):
            one_case = _upper_line(text, cue.start()) or text[cue.end():cue.end() + 1].islower()
            end = cue.end()
            for word in _ORG_WORD.finditer(text, cue.end(), min(len(text), cue.end() + 80)):
                gap = text[end:word.start()]
                if re.sub(r"\band\b|&|[ ,]", "", gap) or "\n" in gap:
                    break  # only spaces, commas and "and" between the words of one name
                bare = word.group().rstrip(".,")
                key = fold(bare)
                if key in ("and", "&"):
                    continue  # kept only if a name word follows
                capital = bare[:1].isupper() and not one_case
                if key in _STOP or not (capital or self.lex.is_name(key) or one_case and not self.lex.is_common(key)):
                    break
                end = word.start() + len(bare)
            org = text[cue.end():end]
            if end > cue.end() and not (" " not in org and self.lex.is_common(org)):  # "retired from the Army"
                spans.append((cue.end(), end, 0.75))
        return spans

    # -- cities ------------------------------------------------------------------------------------
    def cities(self, text: str) -> list[tuple[int, int, float]]:
        spans = []
        for pattern, listed_only in ((_CITY_STATE, False), (_CITY_ZIP, True), (_CITY_BARE_STATE, True),
                                     (_CITY_NOUN, True)):
            for match in pattern.finditer(text):  # "Springfield, MA", "Brockton 53049": the words before
                span = self._city_before(text, match.start(), listed_only)
                if span:
                    spans.append((*span, 0.85))
        words = [(m.start(), m.end(), m.group().rstrip(".,")) for m in _WORD.finditer(text)]
        after_cue = {m.end() for m in caseless.finditer(_PLACE_CUE_ANY, text)}  # word starts right after a cue
        home_cue = {m.end() for m in caseless.finditer(_HOME_CUE, text)}
        for i, (start, _, _) in enumerate(words):
            if start not in after_cue and start not in home_cue:
                continue
            one_case = _upper_line(text, start) or text[start:start + 1].islower()
            for n in (3, 2, 1):  # the longest city right after the cue
                chunk = words[i:i + n]
                if len(chunk) < n or any(" " != text[a[1]:b[0]] for a, b in zip(chunk, chunk[1:])):
                    continue
                phrase = " ".join(w for _, _, w in chunk)
                if self.lex.is_state(phrase) or fold(phrase) in self.lex.countries or fold(chunk[0][2]) in _STOP:
                    break
                if not one_case and not all(w[:1].isupper() for _, _, w in chunk):
                    continue
                if self._town(phrase, n) or start in home_cue and self._unknown_place(phrase, chunk[0][2], one_case):
                    spans.append((chunk[0][0], chunk[0][0] + len(phrase), 0.75))
                    break
        return spans

    def _unknown_place(self, phrase: str, first: str, one_case: bool) -> bool:
        """After a home-town cue: capitalised words (any case in a one-case note), none a plain, clinical or
        title word, and no person's first name first ("lives in Hollin Ridge", not "lives in Assisted Living")."""
        words = phrase.split()
        if len(phrase) < 4 or fold(first).rstrip(".") in _TITLES | _STOP:
            return False
        if not one_case and not all(w[:1].isupper() for w in words):
            return False
        return not any(self.lex.is_common(w) or fold(w) in self.lex.clinical or self.lex.is_state(w) for w in words)

    def _town(self, phrase: str, n: int) -> bool:
        """A listed city, or a phrase shaped like a town name ("Jonesland", "Port Amy"), that is no plain word."""
        key = fold(phrase)
        if fold(phrase.split()[0]).rstrip(".") in _TITLES:
            return False
        if n == 1 and (self.lex.is_common(key) or key in self.lex.clinical):
            return False
        if self.lex.is_city(phrase):
            return True
        first = fold(phrase.split()[0])
        if n == 2 and first in _TOWN_PREFIX:
            return not self.lex.is_common(key) and key.replace(" ", "").isalpha()
        return self.lex.looks_like_town(phrase)

    def _city_before(self, text: str, end: int, listed_only: bool) -> tuple[int, int] | None:
        offset = max(0, end - 60)
        words = list(_WORD.finditer(text[offset:end]))
        one_case = _upper_line(text, end) if end < len(text) else False
        picked: list[re.Match[str]] = []
        for word in reversed(words[-3:]):
            stop = picked[-1].start() if picked else end - offset
            if text[offset + word.end():offset + stop] not in ("", " "):
                break
            raw = word.group().rstrip(".")
            if not (raw[:1].isupper() or one_case or raw.islower()) or fold(raw) in self.lex.clinical:
                break
            if fold(raw) in _STOP:
                break
            picked.append(word)
        while picked:  # the longest listed city, else (state given) the last word if it is no plain word
            phrase = " ".join(w.group().rstrip(".,") for w in reversed(picked))
            if self.lex.is_state(phrase):
                return None
            if self.lex.is_city(phrase) or self._town(phrase, len(picked)):
                break
            # "Oakbrook Terrace, IL": before a state, capitalised words that are no plain word form the town
            if len(picked) > 1 and not (listed_only or one_case) and all(w.group()[:1].isupper() and not self.lex.is_common(w.group())
                                                     for w in picked[1:]):
                break
            if len(picked) == 1:
                if listed_only or one_case or self.lex.is_common(phrase) or len(phrase) <= 2 or \
                        phrase.lower().endswith("ed"):
                    return None
                break
            picked.pop()
        if not picked:
            return None
        return offset + picked[-1].start(), offset + picked[0].start() + len(picked[0].group().rstrip(".,"))

    # -- spaCy entities ----------------------------------------------------------------------------
    def entities(self, text: str, ents: Sequence[tuple[int, int, str]]) -> list[tuple[str, int, int, float]]:
        out = []
        for start, end, label in ents:
            end = min(end, text.find("\n", start) if "\n" in text[start:end] else end)  # one line only
            phrase = text[start:end]
            lead = re.match(r"(?i)(?:the|a|an|triage|to|at)\s+|[\-\s]+", phrase)
            if lead:
                start, phrase = start + lead.end(), phrase[lead.end():]
            words = phrase.split()
            if not words or self.lex.is_state(phrase) or fold(phrase) in self.lex.countries:
                continue
            content = [w for w in words if not self.lex.is_common(w.strip(".,'")) and
                       fold(w.strip(".,'")) not in self.lex.clinical]
            if not content or not all(w[0].isupper() for w in words if w.lower() not in ("of", "the", "and", "&")):
                continue
            if _upper_line(text, start):
                continue  # spaCy's NER guesses on ALL-CAPS lines; the rules above cover them
            facility = list(_FACILITY.finditer(phrase))
            if label in ("ORG", "FAC") and facility:
                out.append(("HOSPITAL", start, start + facility[-1].end(), 0.7))
            elif label == "GPE" and len(phrase) > 3 and not phrase.isupper() and self._town(phrase, len(words)):
                out.append(("CITY", start, end, 0.6))
            elif label == "GPE" and len(phrase) > 3 and not phrase.isupper():
                out.append(("CITY", start, end, 0.5))
            elif label in ("LOC", "FAC") and len(phrase) > 3:
                out.append(("LOCATION", start, end, 0.55))
        return out

    def analyze(self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
                ) -> list[RecognizerResult]:
        """Presidio entry point."""
        results = [RecognizerResult(t, s, e, p) for t, s, e, p in self.facilities(text)]
        results += [RecognizerResult("LOCATION", s, e, p) for s, e, p in self.employers(text)]
        results += [RecognizerResult("CITY", s, e, p) for s, e, p in self.cities(text)]
        if nlp_artifacts is not None:
            ents = [(e.start_char, e.end_char, e.label_) for e in nlp_artifacts.entities]
            results += [RecognizerResult(t, s, e, p) for t, s, e, p in self.entities(text, ents)]
        unique = {(r.entity_type, r.start, r.end): r for r in results}
        return sorted(unique.values(), key=lambda r: (r.start, r.end))
