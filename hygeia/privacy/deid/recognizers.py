"""Hygeia's clinical recognizers for everything but names: Presidio ``EntityRecognizer`` subclasses.

Each recognizer owns one kind of identifier and returns Presidio ``RecognizerResult`` objects with
Hygeia's entity names (mapped to :class:`~hygeia.privacy.phi.PhiCategory` by :mod:`.resolve`).
Numbers are found by their shape *and* checked (valid octets, month/day ranges, SSN areas) or by
the context word in front of them ("MRN", "acct", "policy", "DEA", "serial", "plate"), so lab values,
doses and scores stay. ``CONTEXT`` on each class lists those words for Presidio's context model.

>>> [r.entity_type for r in ClinicalIdRecognizer().analyze("MRN: 4417-203, acct# A99812", [])]
['MRN', 'ACCOUNT']
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from typing import ClassVar

from presidio_analyzer import EntityRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

from hygeia.privacy.deid import caseless
from hygeia.privacy.deid.dates import find_dates
from hygeia.privacy.deid.lexicon import US_STATES, Lexicon, lexicon

_I = re.I
_WORDS = re.compile(r"[A-Za-z][A-Za-z'\-]*")
_STOP = frozenset("the a an at in on of to from for with and or by as is was per via than".split())


class RegexRecognizer(EntityRecognizer):
    """Base: ``PATTERNS`` is a list of ``(entity, regex, score)``; the ``phi`` group (or the whole match)
    is the span. Subclasses veto matches in :meth:`keep`."""

    ENTITIES: ClassVar[tuple[str, ...]] = ()
    PATTERNS: ClassVar[list[tuple[str, re.Pattern[str], float]]] = []
    CONTEXT: ClassVar[tuple[str, ...]] = ()

    def __init__(self) -> None:
        super().__init__(supported_entities=list(self.ENTITIES), name=f"Hygeia{type(self).__name__}",
                         context=list(self.CONTEXT))

    def load(self) -> None:  # patterns are compiled at import
        pass

    def keep(self, text: str, entity: str, match: re.Match[str]) -> bool:
        """False drops a match (a score, a lab value, a clinical word)."""
        return True

    def span(self, text: str, entity: str, match: re.Match[str]) -> tuple[int, int]:
        """The identifier's characters in ``match`` (the ``phi`` group, else all of it)."""
        group = "phi" if "phi" in match.re.groupindex and match.group("phi") else 0
        return match.span(group)

    def matches(self, text: str) -> Iterable[tuple[str, int, int, float]]:
        lowered = text.lower()  # one lower-casing serves every case-insensitive pattern (see .caseless)
        for entity, pattern, score in self.PATTERNS:
            for match in caseless.finditer(pattern, text, lowered):
                start, end = self.span(text, entity, match)
                if end > start and self.keep(text, entity, match):
                    yield entity, start, end, score

    def analyze(self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
                ) -> list[RecognizerResult]:
        """Presidio entry point."""
        return [RecognizerResult(e, s, t, score) for e, s, t, score in self.matches(text)]


class ClinicalDateRecognizer(RegexRecognizer):
    """Dates in every form (see :mod:`.dates`); bare years, relative words and scores are not dates."""

    ENTITIES = ("DATE_TIME",)
    CONTEXT = ("admitted", "discharged", "seen", "on", "dob", "date")

    def matches(self, text: str) -> Iterable[tuple[str, int, int, float]]:
        return (("DATE_TIME", s, e, 0.9) for s, e in find_dates(text))


_AGE_UNIT = r"(?:y/?o\b|y\.o\.?|yo[mf]?\b|yrs?\b|years?[\s-]*old|year-old|-year-old|years?\b|[mf]\b)"
_AGE_NUM = r"(?P<phi>9\d|1[0-1]\d)"  # 90-119: Safe Harbor groups every age over 89


class ClinicalAgeRecognizer(RegexRecognizer):
    """Ages over 89 ("92 yo", "aged 93", "a 95-year-old", "91F"); younger ages are not PHI."""

    ENTITIES = ("AGE",)
    CONTEXT = ("age", "aged", "yo", "year-old")
    PATTERNS = [
        ("AGE", re.compile(rf"(?<![\w.]){_AGE_NUM}\s*-?\s*{_AGE_UNIT}", _I), 0.9),
        ("AGE", re.compile(rf"\b(?:age[ds]?|aged)\s*(?:of\s*)?:?\s*{_AGE_NUM}(?![\w.])", _I), 0.9),
        ("AGE", re.compile(r"\b(?:in (?:his|her|their) (?:early |mid |late |mid-)?)(?P<phi>(?:9|1[01])0'?s|nineties)\b",
                           _I), 0.7),
        ("AGE", re.compile(r"\b(?P<phi>(?:ninety|one hundred(?: and)?)(?:[\s-]+(?:one|two|three|four|five|six|seven|"
                           r"eight|nine|ten))?)(?=[\s-]+(?:years?|yrs?|yo|y/o|-year))", _I), 0.85),
    ]


_PHONE = r"(?:\+?1[\s.\-]?)?(?:\(\d{3}\)\s?|\d{3}[\s.\-])\d{3}[\s.\-]\d{4}(?:\s*(?:x|ext\.?|extension)\s*\d{1,5})?"


class ClinicalContactRecognizer(RegexRecognizer):
    """Phone, fax and pager numbers, e-mail addresses, URLs and IP addresses."""

    ENTITIES = ("PHONE_NUMBER", "FAX", "EMAIL_ADDRESS", "URL", "IP_ADDRESS")
    CONTEXT = ("phone", "tel", "fax", "pager", "beeper", "cell", "call", "email", "website")
    PATTERNS = [
        ("FAX", re.compile(rf"\bfax(?:ed)?\b[^\d\n]{{0,12}}(?P<phi>{_PHONE})", _I), 0.95),
        ("PHONE_NUMBER", re.compile(rf"(?<![\w\-/.]){_PHONE}(?![\w\-/]|\.\d)", _I), 0.85),
        ("PHONE_NUMBER", re.compile(r"\b(?:pager|pgr|beeper|bpr|paged?|ext|extension|phone|tel|cell|call(?:ed)?|"
                                    r"reached|contact|callback|call\s*back)\.?\s*(?:#|no\.?|number|at)?\s*:?\s*(?P<phi>(?:\d-?){4,10}\d)"
                                    r"(?![\w\-/])", _I), 0.8),
        # an international number: "+", a country code, then groups of digits (8 to 15 digits in all, see keep)
        ("PHONE_NUMBER", re.compile(r"(?<![\w+])\+[1-9]\d{0,2}[\s.\-]?\(?\d{1,4}\)?(?:[\s.\-]?\d{2,4}){2,4}(?![\w\-]|\.\d)"),
         0.8),
        # a local number (555-1234, 555-1234 x204): "3-4 days" has no such shape, lab ranges are not 3+4 digits
        ("PHONE_NUMBER", re.compile(r"(?<![\w\-/.])\d{3}-\d{4}(?:\s*(?:x|ext\.?|extension)\s*\d{1,5})?(?![\w\-/]|\.\d)",
                                    _I), 0.6),
        # after a phone word, digits in any grouping: "617 5550199", "555 0199", "07700 900123",
        # "(0)20 7946 0958" (keep() wants 7 to 15 digits and no date)
        ("PHONE_NUMBER", re.compile(r"\b(?:phone|ph|tel|telephone|cell|cellphone|mobile|mob|home|work|wk|hm|contact|"
                                    r"callback|call\s*back|cb|pager|beeper|reached\s+at|call(?:ed)?\s+at|number)"
                                    r"\.?\s*(?:#|no\.?|number|at|is)?\s*[:#=\-]?\s*"
                                    r"(?P<phi>\+?\(?\d{1,5}\)?(?:[ .\-]?\(?\d{1,5}\)?){1,5}"
                                    r"(?:\s*(?:x|ext\.?|extension)\s*\d{1,5})?)(?![\w\-/]|[.,:]\d)", _I), 0.75),
        ("EMAIL_ADDRESS", re.compile(r"(?<![\w.+\-])[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)*\.[a-z]{2,}(?![\w])", _I), 0.95),
        ("URL", re.compile(r"(?<![\w@])(?:https?://|www\.)[^\s<>\"')\]]+(?<![.,;:])", _I), 0.95),
        ("URL", re.compile(r"(?<![\w@.\-/])(?:[a-z0-9\-]+\.)+(?:com|org|net|edu|gov|io|info|health|us|biz|co\.uk)"
                           r"(?:/[^\s<>\"')\]]*)?(?![\w@])(?<![.,;:])", _I), 0.8),
        ("IP_ADDRESS", re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?!\w|\.\d)"), 0.9),
        ("IP_ADDRESS", re.compile(r"(?<![\w:])(?:[0-9a-f]{1,4}:){7}[0-9a-f]{1,4}(?![\w:])", _I), 0.9),
        # compressed IPv6 ("2001:db8::8a2e:370:7334", "fe80::1"); keep() checks it parses and is no time
        ("IP_ADDRESS", re.compile(r"(?<![\w:.])(?:[0-9a-f]{1,4}(?::[0-9a-f]{1,4})*)?::(?:[0-9a-f]{1,4}(?::[0-9a-f]{1,4})*)?"
                                  r"(?![\w:])", _I), 0.85),
    ]

    def keep(self, text: str, entity: str, match: re.Match[str]) -> bool:
        if entity == "IP_ADDRESS":
            try:
                ipaddress.ip_address(match.group())
            except ValueError:
                return False
            groups = [g for g in match.group().split(":") if g]
            if ":" in match.group() and len(groups) < 3 and not re.search(r"[a-f]", match.group(), _I):
                return False  # "10::30" is a typo'd time, not an address
        if entity == "PHONE_NUMBER" and match.group().startswith("+") and \
                not 8 <= sum(c.isdigit() for c in match.group()) <= 15:
            return False  # E.164 numbers have at most 15 digits
        if entity == "PHONE_NUMBER" and "phi" in match.re.groupindex and match.re.groupindex["phi"] and \
                match.re.pattern.startswith(r"\b(?:phone|ph|"):
            value = re.split(r"\s*(?:x|ext|extension)\b", match.group("phi"), flags=_I)[0]
            if not 7 <= sum(c.isdigit() for c in value) <= 15 or find_dates(value):
                return False  # "home 2-3 days", "call 12/14/2023"
        if entity == "URL" and "@" in text[max(0, match.start() - 1):match.start()]:
            return False
        return True


class ClinicalIdRecognizer(RegexRecognizer):
    """SSN and numbers named by the word before them: MRN, account, health plan, licence, device,
    vehicle; plus long digit runs and letter-digit codes that no clinical value looks like."""

    ENTITIES = ("US_SSN", "MRN", "ACCOUNT", "HEALTH_PLAN", "LICENSE", "DEVICE", "VEHICLE", "ID")
    CONTEXT = ("mrn", "mr#", "medical record", "acct", "account", "policy", "member", "dea", "npi", "license",
               "serial", "device", "plate", "vin", "ssn", "social security")
    # "(?![a-z])": the keyword is a whole word ("plate 7ABC", not "plateau 12"; re.I makes it any case)
    _LEAD = r"(?![a-z])\s*(?:#|no\.?|num(?:bers?)?\.?|id|n°)?(?:\s*(?:is|was|of)(?![a-z]))?\s*[:#=]?\s*"
    _VALUE = _LEAD + r"(?P<phi>(?=[A-Z0-9\-]*\d)[A-Z0-9][A-Z0-9\-/.]{2,}[A-Z0-9])"
    # plates and serials are also printed in groups: "070 XZQ", "4 XK 221", "RNB 204 417 H" (in capitals,
    # so "12 hr" is no plate; keep() turns away a group that is a word, as in "2 DAYS")
    _GROUPED = _LEAD + r"(?P<phi>[A-Z0-9]{1,4}(?: [A-Z0-9]{1,6}){1,3})(?![\w\-])"
    _PLATE = _LEAD + r"(?P<phi>(?=[A-Z0-9\-]*\d)[A-Z0-9][A-Z0-9\-]{2,}[A-Z0-9])"
    PATTERNS = [
        ("US_SSN", re.compile(r"(?<![\w\-])(?!000|666|9\d\d-[0-8])\d{3}-\d{2}-\d{4}(?![\w\-])"), 0.9),
        ("US_SSN", re.compile(r"\b(?:ssn|ss#|soc(?:ial)?\.?\s*sec(?:urity)?)\.?" + _VALUE, _I), 0.95),
        ("MRN", re.compile(r"\b(?:mrn|mr\s?#|mr\s*no|mr\s*number|medical\s*record|med\s*rec|unit\s*(?:no|number)|"
                           r"hosp(?:ital)?\s*(?:no|#|number|id)|patient\s*id|pt\s*id|chart|record)" + _VALUE, _I), 0.95),
        ("ACCOUNT", re.compile(r"\b(?:acct|account|a/c|billing|bill|fin|visit\s*(?:no|#|id)|encounter\s*(?:no|#|id)|"
                               r"claim|invoice)" + _VALUE, _I), 0.9),
        ("HEALTH_PLAN", re.compile(r"\b(?:policy|member|subscriber|insurance|insured|medicaid|medicare|health\s*plan|"
                                   r"plan|group|beneficiary|hic|hicn|mbi|masshealth|medi-cal|tricare|bcbs|aetna|"
                                   r"cigna|humana|uhc|anthem|kaiser|molina|pilgrim|tufts|payer|payor|carrier|"
                                   r"coverage|ins)" + _VALUE, _I), 0.9),
        ("LICENSE", re.compile(r"\b(?:dea|npi|licen[cs]e|lic|certificate|cert|upin|state\s*license|"
                               r"driver'?s?\s*licen[cs]e|dl)" + _VALUE, _I), 0.9),
        ("DEVICE", re.compile(r"\b(?:serial|s/n|sn|ser\.|s\.\s?n\.?|device|model|lot|udi|implant|pacemaker|icd|generator|"
                              r"pump|monitor|defibrillator|stimulator|transmitter|sensor|hearing\s+aids?)" + _VALUE, _I), 0.85),
        ("VEHICLE", re.compile(r"\b(?:plate|license\s*plate|vin|vehicle|tag|reg|rego|registration)" + _PLATE, _I), 0.9),
        ("VEHICLE", re.compile(r"\b(?:plate|license\s*plate|vehicle|tag)" + _GROUPED, _I), 0.9),
        ("DEVICE", re.compile(r"\b(?:serial|s/n|sn|device|implant|generator)" + _GROUPED, _I), 0.85),
        ("ID", re.compile(r"\b(?:accession|acc|job|study|specimen|requisition|req|order|sample|case|ref(?:erence)?|"
                          r"confirmation|ticket|control|lab)" + _VALUE, _I), 0.85),
        # GS1 unique device identifier: (01) 14-digit GTIN, then (17)/(10)/(21) expiry, lot and serial,
        # printed with or without spaces between the elements
        ("DEVICE", re.compile(r"\(01\) ?\d{14}(?: ?\((?:10|11|17|21)\) ?[A-Za-z0-9\-]{1,20})*"), 0.95),
        # HIBCC device identifier: "+", a letter, labeler and product codes, then "/"-separated data
        ("DEVICE", re.compile(r"(?<![\w+])\+[A-Z]\d{3}[A-Z0-9]{2,18}(?:/[$+%A-Z0-9]{2,30})*(?![\w/])"), 0.9),
        # whatever follows "UDI" up to the next space is the identifier, whatever its syntax
        ("DEVICE", re.compile(r"\budi\s*(?:#|no\.?|number)?\s*[:#=]?\s*(?P<phi>[^\s,;]*\d[^\s,;]*)", _I), 0.9),
        ("VEHICLE", re.compile(r"(?<![\w\-])(?=[A-HJ-NPR-Z0-9]*\d)(?=[A-HJ-NPR-Z0-9]*[A-Z])[A-HJ-NPR-Z0-9]{17}"
                               r"(?![\w\-])"), 0.7),
        # after a record word, digits printed in groups ("MRN 12 34 56 78"); keep() wants 5+ digits
        ("MRN", re.compile(r"\b(?:mrn|mr\s?#|medical\s*record|med\s*rec|unit\s*(?:no|number)|chart|record)" + _LEAD +
                           r"(?P<phi>\d{2,4}(?: \d{2,4}){1,4})(?![\w\-/]|[.,]\d)", _I), 0.9),
        # "<something> ID: 77-441-203", "Badge no. 0045A7": a value named an identifier by the word before it
        ("ID", re.compile(r"\b(?P<cue>[A-Za-z]{2,12})\s*(?:id|identifier|#|no\.|number)\s*[:#=]\s*"
                          r"(?P<phi>(?=[A-Z0-9\-]*\d)[A-Z0-9][A-Z0-9\-/.]{2,}[A-Z0-9])(?![\w\-/]|[.,]\d)", _I), 0.7),
        # digits in three or more groups ("77-441-203", "4417-22-081"): no dose, score or lab value looks like it
        ("ID", re.compile(r"(?<![\w\-/.,])\d{1,5}(?:-\d{1,6}){2,4}(?![\w\-/]|[.,]\d)"), 0.6),
        # letters and 4+ digits mixed in one code ("RZX204417K", "8G14A77B", "pjn123456h")
        ("ID", re.compile(r"(?<![\w\-/.,])(?=[A-Za-z0-9\-]*[A-Za-z])(?=(?:[A-Za-z\-]*\d){4})[A-Za-z0-9]"
                          r"[A-Za-z0-9\-]{4,}[A-Za-z0-9](?![\w\-/]|[.,]\d)"), 0.6),
        # a run of 6+ digits or a letter-digit code: no lab value, dose or score is written like that
        ("ID", re.compile(r"(?<![\w\-/.,])(?:[A-Z]{1,3}-?\d{5,}|\d{6,}[A-Z]?|\d{2,4}-\d{4,}(?:-\d+)?)(?![\w\-/]|[.,]\d)"),
         0.6),
    ]
    def span(self, text: str, entity: str, match: re.Match[str]) -> tuple[int, int]:
        """A grouped value ("070 XZQ") ends before a group that is a word ("2281 noted", "12 hr")."""
        start, end = super().span(text, entity, match)
        if " " in text[start:end]:  # only the grouped values hold a space
            groups = list(re.finditer(r"[A-Za-z0-9]+", text[start:end]))
            while groups and groups[-1].group().isalpha() and (
                    lexicon().is_common(groups[-1].group()) or len(groups) > 1 and groups[-1].group().islower()
                    and not text[start:end].islower()):
                groups.pop()
            end = start + groups[-1].end() if len(groups) > 1 else start
        return start, end

    _UNIT_AFTER = re.compile(r"^\s*(?:mg|mcg|g|kg|ml|l|units?|iu|meq|mmol|k|/|x|cells|copies|cfu|%|mm)\b", _I)

    # clinical codes are not identifiers of a person: ICD, CPT, LOINC, NDC, SNOMED, RxNorm, HCPCS, DRG
    _CODE_BEFORE = re.compile(r"\b(?:icd(?:-?\s?(?:9|10|11))?(?:-?cm)?|cpt|loinc|ndc|snomed(?:-?ct)?|rxnorm|rxcui|hcpcs|"
                              r"drg|cvx|atc|code)\W{0,4}$", _I)
    # doses, units, dimensions, obstetric history, tumour stage: shapes of clinical values
    _CLINICAL_SHAPE = re.compile(r"[a-z]{2,4}-\d{3,4}|"  # "MK-3475", "ABT-199": study-drug codes
                                 r"[\d.,]+(?:mg|mcg|ug|g|kg|ml|l|cc|meq|mmol|units?|u|iu|hrs?|h|min|mins|cm|mm|kcal|"
                                 r"x)|\d+(?:x\d+)+|g\d+p\d+(?:-?\d+)*|t\d[a-z]?n\d[a-z]?m\d|"
                                 r"e\dv\dm\d|\d+'?s(?:-\d+'?s)+", _I)  # "70s-80s": a range of rates
    _GENERIC = ("ID",)

    def keep(self, text: str, entity: str, match: re.Match[str]) -> bool:
        value = match.group("phi") if "phi" in match.re.groupindex and match.group("phi") else match.group()
        if entity in ("ID", "MRN") and self._CODE_BEFORE.search(text[max(0, match.start() - 16):match.start()]):
            return False  # "ICD-10 E11.6510", "NDC 0002-8215-01", "CPT 99213"
        if "cue" in match.re.groupindex and (self._CODE_BEFORE.search(match.group("cue") + " ") or
                                             self._CLINICAL_SHAPE.fullmatch(value)):
            return False
        if " " in value and entity == "MRN" and not re.search(r"[A-Za-z]", value):
            return sum(c.isdigit() for c in value) >= 5
        if entity == "ID" and (self._CLINICAL_SHAPE.fullmatch(value) or lexicon().is_common(value)):
            return False
        if entity == "ID" and re.fullmatch(r"[\d\-]+", value) and sum(c.isdigit() for c in value) < 5:
            return False  # "1-2-3": too few digits to single anyone out
        if self._UNIT_AFTER.match(text[match.end():match.end() + 8]):
            return False  # "250000 cells", "1000000 units"
        if entity != "ID" and not any(c.isdigit() for c in value):
            return False
        if entity in ("DEVICE", "HEALTH_PLAN") and re.fullmatch(r"\d{1,3}", value):
            return False
        if " " in value and not (re.search(r"\d", value) and re.search(r"[A-Za-z]", value)):
            return False  # a spaced value ("070 XZQ") must mix letters and digits, as plates do
        if re.fullmatch(r"(?:[01]\d|2[0-3])[0-5]\d-(?:[01]\d|2[0-3])[0-5]\d", value):
            return False  # "0700-1900": a shift, not an identifier
        return not find_dates(value) or len(value) > 10


def _usps_suffixes() -> frozenset[str]:
    """USPS street suffixes (Publication 28, as Faker ships them) and their common abbreviations."""
    from faker.providers.address.en_US import Provider as Address

    return frozenset(s.lower() for s in Address.street_suffixes) | _STRONG_SUFFIX


# suffixes that are seldom anything else: accepted in any letter case ("12 main st")
_STRONG_SUFFIX = frozenset("street st avenue ave av road rd boulevard blvd lane ln drive dr court ct terrace ter "
                           "parkway pkwy highway hwy circle cir place pl square sq way trail trl route rte".split())
_SUFFIXES = _usps_suffixes()
# a house number and up to six words on its line; the street ends at the first USPS suffix among them
_STREET_RUN = re.compile(r"(?<![\w\-/.])\d{1,6}[A-Z]?(?P<words>(?:[ \t]+[A-Za-z][A-Za-z'\-]*\.?){2,6})")
_STREET_WORD = re.compile(r"[ \t]+([A-Za-z][A-Za-z'\-]*)\.?")
_UNIT = re.compile(r",?[ \t]*(?:apt|apartment|unit|suite|ste|fl|floor|rm|room|#)\.?[ \t]*#?[ \t]*[A-Z0-9\-]+\b", _I)
_DIRECTIONS = frozenset("n s e w ne nw se sw north south east west".split())
_RISKY_SUFFIX = {"ct", "dr", "pl", "ter", "cir", "st", "way", "sq", "av"}
_ANATOMY = frozenset("head chest abd abdomen abdominal pelvis pelvic spine spinal neck sinus renal cardiac brain lung "
                     "liver kidney knee hip shoulder ankle wrist foot hand face facial orbit temporal coronary body "
                     "whole view views contrast noncontrast non-contrast repeat stat portable".split())
STATE_CODES = "|".join(US_STATES)
STATE_NAMES = "|".join(sorted(US_STATES.values(), key=len, reverse=True))


_ZIP5 = re.compile(r"(?<![\w\-])\d{5}(?:-\d{4})?(?![\w\-])")
_STATE_BEFORE = re.compile(rf"(?:\b(?-i:{STATE_CODES})\.?,?|\b(?:{STATE_NAMES}),?)\s+$", _I)
_CITY_BEFORE = re.compile(r"(?<![A-Za-z.'\-])(?P<city>[A-Za-z][A-Za-z.'\-]+(?: [A-Za-z][A-Za-z.'\-]+){0,2}),? $")


class ClinicalAddressRecognizer(RegexRecognizer):
    """Street addresses, P.O. boxes and ZIP codes (after a state or the word "zip")."""

    ENTITIES = ("STREET_ADDRESS", "ZIP")
    CONTEXT = ("address", "lives", "street", "zip", "resides")
    PATTERNS = [
        ("STREET_ADDRESS", re.compile(r"\b(?P<phi>(?:p\.?\s?o\.?\s*box|pob)\s*#?\s*\d+)", _I), 0.9),
        # a five-digit number after a state or a town (checked in keep: scanning for the number first is
        # many times faster than trying fifty state names at every position)
        ("ZIP", _ZIP5, 0.85),
        ("ZIP", re.compile(r"\bzip(?:\s*code)?\s*[:#]?\s*(?P<phi>\d{5}(?:-\d{4})?)(?![\w\-])", _I), 0.95),
        ("ZIP", re.compile(r"(?<![\w\-])\d{5}-\d{4}(?![\w\-])"), 0.8),  # ZIP+4: no other number has this shape
    ]

    def __init__(self, lex: Lexicon | None = None) -> None:
        self.lex = lex or lexicon()
        super().__init__()

    def matches(self, text: str) -> Iterable[tuple[str, int, int, float]]:
        yield from super().matches(text)
        lower_note = not any(c.isupper() for c in text)
        for run in _STREET_RUN.finditer(text):
            words = list(_STREET_WORD.finditer(text, run.start("words"), run.end("words")))
            names: list[str] = []
            for word in words:
                bare = word.group(1)
                if names and bare.lower() in _SUFFIXES:
                    if self._street(names, bare, lower_note):
                        end = word.end()
                        unit = _UNIT.match(text, end)
                        yield "STREET_ADDRESS", run.start(), unit.end() if unit else end, 0.85
                    break
                if bare.lower() not in _DIRECTIONS or names:
                    names.append(bare)

    def _street(self, named: list[str], suffix_word: str, lower_note: bool) -> bool:
        """Is "<number> <named...> <suffix>" a street? Not "1 head CT", "3 days of rest", "2 tabs at night"."""
        suffix = suffix_word.lower()
        if any(w.lower() in _ANATOMY or w.lower() in _STOP or self.lex.is_clinical(w) for w in named):
            return False
        capitalised = suffix_word[0].isupper() and all(w[0].isupper() for w in named)
        if lower_note:  # "299 ashley ways": no capitals to go by, the street name must be a name
            capitalised = all(self.lex.is_name(w) or not self.lex.is_common(w) for w in named)
        return capitalised or (suffix in _STRONG_SUFFIX and suffix not in _RISKY_SUFFIX)

    def keep(self, text: str, entity: str, match: re.Match[str]) -> bool:
        if match.re is not _ZIP5:
            return True
        before = text[max(0, match.start() - 60):match.start()]
        if _STATE_BEFORE.search(before):
            return True  # "MA 01103", "Massachusetts, 01103"
        city = _CITY_BEFORE.search(before) if len(match.group()) == 5 else None  # "Springfield 01103"
        if city is None:
            return False
        words = city.group("city").split()
        return any(self.lex.is_city(" ".join(words[i:])) or self.lex.looks_like_town(" ".join(words[i:]))
                   for i in range(len(words)))
