"""Safety flags on a drafted summary, for the reviewer: what the draft dropped or what the record gets wrong.

Three checks, each a small function ``(source, draft) -> list[Flag]``:

- ``missing_medication``: a drug named in the source (outside allergy statements) that the draft never names,
  by generic or brand (drug names from ``lexicons/drugs.txt`` and ``lexicons/allergy_conflicts.yaml``, plus
  any word followed by a dose inside a medication section, so unseen drugs are caught too).
- ``abnormal_without_follow_up``: an abnormal result in the source (flagged H/L or "elevated", outside a
  reference range, or an incidental finding such as a nodule) with no follow-up for it in the draft
  (a sentence naming the test together with repeat / recheck / follow up / refer / monitor ...).
- ``allergy_conflict``: an allergy listed in the source whose class (``lexicons/allergy_conflicts.yaml``)
  contains a drug prescribed in the source or the draft.

>>> note = "Allergies: penicillin.\\nDischarge medications: amoxicillin 500 mg three times daily."
>>> [f.kind for f in check_flags(note, "Discharged on amoxicillin 500 mg.")]
['allergy_conflict']
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import yaml

from hygeia.text.backends.extractive import headings
from hygeia.text.facts import drug_lexicon, split_sentences


@dataclass(frozen=True)
class Flag:
    """One finding for the reviewer: ``kind``, the ``item`` it is about, a one-line ``message``, the source
    ``evidence`` (a sentence of the de-identified source) and a ``severity`` ("warning" or "critical")."""

    kind: str
    item: str
    message: str
    evidence: str = ""
    severity: str = "warning"


# -- lexicons ---------------------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def allergy_classes() -> dict[str, dict[str, frozenset[str]]]:
    """``{class: {"terms": ..., "drugs": ...}}`` from the shipped allergy lexicon (lower-case generics)."""
    raw = resources.files("hygeia.text").joinpath("lexicons/allergy_conflicts.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(raw)["classes"]
    return {name: {"terms": frozenset(t.lower() for t in spec.get("terms", [])),
                   "drugs": frozenset(d.lower() for d in spec["drugs"])} for name, spec in data.items()}


@lru_cache(maxsize=1)
def _names() -> dict[str, str]:
    """Every known drug name (generic or brand) -> generic."""
    names = dict(drug_lexicon())
    for spec in allergy_classes().values():
        for drug in spec["drugs"]:
            names.setdefault(drug, drug)
    return names


@lru_cache(maxsize=1)
def _longest_name() -> int:
    return max(len(name.split()) for name in _names())


# A word as drug names are written: letters, digits and the joiners of "sacubitril/valsartan", "toprol-xl", "#3".
_TOKEN = re.compile(r"[#\w][\w#/+-]*")


def _components(generic: str) -> set[str]:
    return set(generic.split("/"))


# -- text structure ---------------------------------------------------------------------------------------
_ALLERGY_HEAD = re.compile(r"allerg|adverse reaction|intoleran", re.IGNORECASE)
_MED_HEAD = re.compile(r"medic|meds\b|prescri|drug", re.IGNORECASE)
_ALLERGY_SENT = re.compile(r"allerg|intoleran|anaphyla|hypersensitiv|reaction to", re.IGNORECASE)
_NO_ALLERGY = re.compile(r"\b(nkda|nka|no known (drug )?allergies|no allergies|none known)\b", re.IGNORECASE)
_DOSED = re.compile(r"\b([A-Za-z][A-Za-z-]{3,}(?: [a-z][a-z-]{3,})?)\s+\d+(?:\.\d+)?\s*"
                    r"(?:mg|mcg|µg|g|units?|iu|meq|ml)\b", re.IGNORECASE)
_NOT_DRUGS = frozenset("""take takes taking given give dose doses daily total each with about over once twice then
tablet tablets capsule capsules injection oral solution suspension patch cream every start started continue
increase increased decrease decreased reduce reduced stop stopped potassium sodium""".split())


def _sentences(text: str) -> list[tuple[int, int, str, str]]:
    """(start, end, sentence, heading) for each sentence, with the heading it sits under."""
    heads = headings(text)
    out = []
    for start, end in split_sentences(text):
        heading = ""
        for h_start, _h_end, title in heads:
            if h_start <= start or text[start:h_start].strip() == "":
                heading = title
            else:
                break
        out.append((start, end, text[start:end], heading))
    return out


@lru_cache(maxsize=4096)
def _drugs_in(text: str) -> frozenset[str]:
    """Generics of the drug names in ``text``, longest name first at each word (a dict look-up per word run:
    one regex alternation of ~1,000 names was the slowest step)."""
    names, found = _names(), set()
    words = [w.rstrip("/+-").lower() for w in _TOKEN.findall(text)]
    i = 0
    while i < len(words):
        for n in range(min(_longest_name(), len(words) - i), 0, -1):
            generic = names.get(" ".join(words[i:i + n]))
            if generic:
                found.add(generic)
                i += n
                break
        else:
            i += 1
    return frozenset(found)


def _mentions(text: str) -> set[str]:
    """Generic names and single components mentioned in ``text``."""
    found: set[str] = set()
    for generic in _drugs_in(text):
        found |= {generic} | _components(generic)
    return found


def source_medications(source: str) -> dict[str, str]:
    """Drugs the source names outside allergy statements: generic (or dosed word) -> the sentence naming it."""
    meds: dict[str, str] = {}
    for _start, _end, sentence, heading in _sentences(source):
        if _ALLERGY_HEAD.search(heading) or _ALLERGY_SENT.search(sentence):
            continue
        for generic in sorted(_drugs_in(sentence)):
            meds.setdefault(generic, sentence.strip())
        if _MED_HEAD.search(heading) or _MED_HEAD.search(sentence):
            for m in _DOSED.finditer(sentence):
                word = m.group(1).lower()
                first = word.split()[0]
                if first in _NOT_DRUGS or _drugs_in(word):
                    continue
                meds.setdefault(first, sentence.strip())
    return meds


# -- the checks -------------------------------------------------------------------------------------------
def missing_medications(source: str, draft: str) -> list[Flag]:
    """Drugs in the source that the draft does not name (by any of their names)."""
    named = _mentions(draft)
    flags = []
    for drug, sentence in source_medications(source).items():
        if _components(drug) <= named or drug in named or re.search(rf"(?<![\w-]){re.escape(drug)}(?![\w-])", draft,
                                                                      re.IGNORECASE):
            continue
        flags.append(Flag("missing_medication", drug, f"{drug} is in the source but not in the draft", sentence))
    return flags


def listed_allergies(source: str) -> dict[str, str]:
    """Allergy classes (or single drugs) the source lists: name -> the sentence listing it."""
    found: dict[str, str] = {}
    for _start, _end, sentence, heading in _sentences(source):
        if not (_ALLERGY_HEAD.search(heading) or _ALLERGY_SENT.search(sentence)) or _NO_ALLERGY.search(sentence) \
                or sentence.rstrip().endswith("?"):
            continue
        lower = sentence.lower()
        drugs = _mentions(sentence)
        for name, spec in allergy_classes().items():
            named = any(re.search(rf"(?<![\w-]){re.escape(t)}(?![\w-])", lower) for t in spec["terms"])
            if named or drugs & spec["drugs"]:
                found.setdefault(name, sentence.strip())
        for drug in drugs:
            if not any(drug in spec["drugs"] for spec in allergy_classes().values()):
                found.setdefault(drug, sentence.strip())
    return found


_NOT_GIVEN = re.compile(r"\b(avoid|avoided|instead of|not (be )?given|do not|don't|contraindicated|discontinued|"
                        r"stopped|"
                        r"held|switched from)\b", re.IGNORECASE)


def allergy_conflicts(source: str, draft: str) -> list[Flag]:
    """A listed allergy whose class holds a drug prescribed in the source or the draft."""
    allergies = listed_allergies(source)
    if not allergies:
        return []
    prescribed: dict[str, str] = {}
    for text in (source, draft):
        for _start, _end, sentence, heading in _sentences(text):
            if _ALLERGY_HEAD.search(heading) or _ALLERGY_SENT.search(sentence) or _NOT_GIVEN.search(sentence) \
                    or sentence.rstrip().endswith("?"):
                continue  # an allergy line, a drug avoided, or a question ("Ciprofloxacin?") prescribes nothing
            for drug in _drugs_in(sentence):
                prescribed.setdefault(drug, sentence.strip())
    flags = []
    for allergy, listed in allergies.items():
        members = allergy_classes()[allergy]["drugs"] if allergy in allergy_classes() else {allergy}
        # A combination conflicts through any of its agents (Augmentin = amoxicillin/clavulanate).
        for drug in sorted(d for d in prescribed if d in members or _components(d) & members):
            flags.append(Flag("allergy_conflict", drug,
                              f"{drug} is prescribed but the patient has a listed {allergy} allergy ({listed})",
                              prescribed[drug], "critical"))
    return flags


# Adult reference intervals in conventional US units (MedlinePlus / common laboratory ranges). The LAST value
# reported for a test decides (a potassium of 5.9 that was 4.8 the next day needs no follow-up). Kept short on
# purpose: explicit H/L flags and words such as "elevated troponin" catch the tests not listed here.
_RANGES: dict[str, tuple[tuple[str, ...], float, float, tuple[str, ...]]] = {
    "potassium": (("potassium", "k", "k+"), 3.5, 5.1, ("mmol/l", "meq/l")),
    "sodium": (("sodium", "na", "na+"), 135, 145, ("mmol/l", "meq/l")),
    "creatinine": (("creatinine", "cr", "creat"), 0.5, 1.3, ("mg/dl",)),
    "hemoglobin": (("hemoglobin", "haemoglobin", "hgb", "hb"), 12.0, 17.5, ("g/dl",)),
    "white cell count": (("wbc", "white blood cell count", "white cell count", "white count", "leukocytes"), 4.0, 11.0,
                         ("k/ul", "x10^9/l", "10^9/l", "k/mcl", "x10(9)/l")),
    "platelets": (("platelets", "platelet count", "plt"), 150, 450, ("k/ul", "x10^9/l", "10^9/l", "k/mcl")),
    "glucose": (("glucose", "blood sugar", "blood glucose"), 70, 200, ("mg/dl",)),
    "hba1c": (("hba1c", "a1c", "hemoglobin a1c"), 4.0, 6.4, ("%",)),
    "inr": (("inr",), 0.8, 3.5, ()),
    "tsh": (("tsh",), 0.4, 4.5, ("miu/l", "uiu/ml", "mu/l")),
    "alt": (("alt",), 0, 60, ("u/l", "iu/l")),
    "ast": (("ast",), 0, 50, ("u/l", "iu/l")),
    "calcium": (("calcium", "ca"), 8.5, 10.5, ("mg/dl",)),
}
_ALIAS = {alias: test for test, (aliases, *_rest) in _RANGES.items() for alias in aliases}
# Tests without a range here: named results a note calls elevated / low / positive / abnormal.
_TESTS = frozenset("""troponin lactate bilirubin lipase amylase ferritin d-dimer bnp crp esr psa ck ammonia albumin
magnesium phosphate phosphorus ldl cholesterol triglycerides urinalysis culture cultures ecg ekg x-ray ct mri
ultrasound echo echocardiogram biopsy smear titer bicarbonate chloride bun urea lft lfts""".split()) | set(_ALIAS)
_TEST_SUFFIX = r"(?:\s+(?:level|levels|count|test|culture|cultures|result|value|titer))?"
_NUMBER = r"(\d+(?:\.\d+)?)"
_UNIT = r"\s*((?:[a-zA-Z%]+(?:/[a-zA-Z]+)?(?:\^\d+/[a-zA-Z]+)?)?)"
# "K 5.9 H", "WBC 15.2 K/uL (H)": the flag stands apart from the unit (the L of "mmol/L" is no flag).
_FLAGGED = re.compile(r"\b([A-Za-z][A-Za-z0-9+ -]{0,30}?)\s*:?\s*\d+(?:\.\d+)?\s*[a-zA-Z%/^0-9.]*(?:\s+\(?|\s*\()"
                      r"(H|L|HH|LL)\b\)?")
_CUE = r"(elevated|raised|high|low|decreased|increased|abnormal|critical(?:ly)?|positive|markedly)"
# "High cholesterol" names a diagnosis; "high cholesterol level" or "elevated cholesterol" reports a result.
_WORDED = re.compile(r"(?:elevated|raised|decreased|increased|abnormal|critical(?:ly)?|positive|markedly)\s+"
                     r"(?:[a-z]+\s+){0,2}?([a-z][a-z0-9+-]*)" + _TEST_SUFFIX + r"\b"
                     r"|(?:high|low)\s+([a-z][a-z0-9+-]*)\s+(?:level|levels|count|value|result)s?\b", re.IGNORECASE)
_WORDED_AFTER = re.compile(r"\b([a-z][a-z0-9+-]*)" + _TEST_SUFFIX + r"\s+(?:was|is|were|remained|came back)\s+"
                           + _CUE, re.IGNORECASE)
# "body mass index", "muscle mass" and "bone mass" are measures, not masses (seen on Synthea notes).
_CUE_WORDS = frozenset(_CUE.strip("()").replace("(?:ly)?", "").split("|")) | {"critically"}
_PAST = re.compile(r"\b(history of|h/o|family history|mother|father|brother|sister|grandmother|grandfather|aunt|uncle|"
                   r"died of)\b", re.IGNORECASE)
_FINDING = re.compile(r"(?<!body )(?<!muscle )(?<!bone )(?<!lean )\b(nodule|mass|lesion|opacity|aneurysm|polyp|cyst)"
                      r"(?:es|s)?\b(?! index)", re.IGNORECASE)
_NEGATED = re.compile(r"\b(no|denies|denied|without|negative for|free of|ruled out|normal|unremarkable|resolved)\b",
                      re.IGNORECASE)
_FOLLOW_UP = re.compile(r"\b(repeat|recheck|re-check|follow[- ]?up|monitor|monitoring|refer|referral|referred|"
                        r"re-?evaluate|reassess|re-?image|surveillance|outpatient|appointment|check(?:ed)?|"
                        r"in \d+ (?:days?|weeks?|months?))\b", re.IGNORECASE)
_FILLER = frozenset("was is were of at on the a an and his her their day admission initial repeat serum level".split())


def _ranged_results(source: str) -> dict[str, tuple[float, int]]:
    """For each ranged test: its last reported (value, position) in a unit the range understands."""
    last: dict[str, tuple[float, int]] = {}
    _other_test = re.compile(r"(?<![\w-])(?:" + "|".join(re.escape(a) for a in sorted(_ALIAS, key=len, reverse=True))
                             + r")(?![\w/-])", re.IGNORECASE)  # "K/uL" is a unit, not potassium
    for alias, test in _ALIAS.items():
        _aliases, _low, _high, units = _RANGES[test]
        head = re.compile(rf"(?<![\w-]){re.escape(alias)}(?![\w/-])\s*(?:level\s*)?(?:of|was|is|at|:|=)?\s*"
                          rf"(?:of|was|is|at|:|=)?\s*{_NUMBER}{_UNIT}", re.IGNORECASE)
        for m in head.finditer(source):
            unit = m.group(2).lower()
            if units and unit and not any(unit.startswith(u) for u in units):
                continue  # another unit system: this range cannot judge it
            value, position = float(m.group(1)), m.start()
            # Later values of the same test in the same sentence ("15.2 K/uL on admission and 9.1 K/uL at discharge").
            stop = re.search(r"[.;](?:\s|$)", source[m.end():])
            tail = source[m.end(): m.end() + (stop.start() if stop else 0)]
            other = _other_test.search(tail)
            tail = tail[: other.start()] if other else tail  # "sodium 138 mmol/L and potassium 4.4 mmol/L"
            if unit:
                for later in re.finditer(rf"{_NUMBER}\s*{re.escape(m.group(2))}\b", tail):
                    value, position = float(later.group(1)), m.end() + later.start()
            if test not in last or position > last[test][1]:
                last[test] = (value, position)
    return last


def _negated(text: str, start: int) -> bool:
    """A negation earlier in the same clause ("Denies hair loss, skin lesions"; "no nodule but a 2 cm mass")."""
    clause = re.split(r"\b(?:but|however|although)\b|;", text[:start], flags=re.IGNORECASE)[-1]
    return bool(_NEGATED.search(clause))


def _test_name(phrase: str) -> str:
    words = [w for w in re.findall(r"[a-z][a-z0-9+-]*", phrase.lower()) if w not in _FILLER]
    return " ".join(words[-2:])


def abnormal_results(source: str) -> dict[str, tuple[str, tuple[str, ...]]]:
    """Abnormal results in the source: test -> (the sentence reporting it, the words that name the test)."""
    sentences = _sentences(source)

    def sentence_at(position: int) -> str:
        return next((s.strip() for start, end, s, _h in sentences if start <= position < end), "")

    found: dict[str, tuple[str, tuple[str, ...]]] = {}
    for test, (value, position) in _ranged_results(source).items():
        aliases, low, high, _units = _RANGES[test]
        if not low <= value <= high:
            found[test] = (sentence_at(position), aliases)
    for _start, _end, sentence, _heading in sentences:
        text = sentence.strip()
        if text.endswith("?") or _PAST.search(text):
            continue  # a question asks, and a past or family history is not a result awaiting follow-up
        named: list[tuple[str, int]] = []
        for m in _FLAGGED.finditer(text):
            named.append((_test_name(m.group(1)), m.start()))
        for pattern in (_WORDED, _WORDED_AFTER):
            for m in pattern.finditer(text):
                test = next(g for g in m.groups() if g and g.lower() not in _CUE_WORDS).lower()
                if test in _TESTS:
                    named.append((test, m.start()))
        for name, start in named:
            last_word = name.split()[-1] if name else ""
            if not last_word or last_word in _ALIAS or _negated(text, start):
                continue  # ranged tests were judged on their last value above
            found.setdefault(name, (text, (last_word,)))
        for m in _FINDING.finditer(text):
            if not _negated(text, m.start()):
                found.setdefault(m.group(1).lower(), (text, (m.group(1).lower(),)))
    return found


def abnormal_without_follow_up(source: str, draft: str) -> list[Flag]:
    """Abnormal source results that no draft sentence pairs with a follow-up action."""
    follow = [s.lower() for _a, _b, s, _h in _sentences(draft) if _FOLLOW_UP.search(s)]
    flags = []
    for test, (sentence, words) in abnormal_results(source).items():
        named = [w for w in words if len(w) > 1] or list(words)
        if any(re.search(rf"(?<![\w-]){re.escape(w.lower())}", s) for s in follow for w in named):
            continue
        flags.append(Flag("abnormal_without_follow_up", test,
                          f"abnormal {test} in the source has no follow-up in the draft", sentence))
    return flags


CHECKS: dict[str, Callable[[str, str], list[Flag]]] = {
    "missing_medication": missing_medications,
    "abnormal_without_follow_up": abnormal_without_follow_up,
    "allergy_conflict": allergy_conflicts,
}


def check_flags(source: str, draft: str, checks: tuple[str, ...] | None = None) -> list[Flag]:
    """Run the named checks (default: all) on a de-identified source and its draft."""
    return [flag for name in (checks or tuple(CHECKS)) for flag in CHECKS[name](source, draft)]
