"""Clinical text units and the facts in them that hurt patients when wrong.

Two jobs the grounding check needs from a piece of clinical text:

- **Segmentation**: :func:`split_sentences` (clinical abbreviations such as ``b.i.d.``, ``p.o.``, ``Dr.``,
  numbered lists, line breaks) and :func:`split_turns` (``Doctor: ... / Patient: ...`` dialogues), both returning
  character spans into the original text.
- **Facts**: :func:`extract_facts` finds quantities (numbers with their unit, doses), dates, drug names (mapped to
  the generic through the shipped lexicon), laterality (left / right / bilateral, only next to anatomy) and the
  polarity of every content term (affirmed, negated or neutral) with a compact ConText-style rule set.
  Numbers spelled as words ("twenty five", "January tenth two thousand nine") are turned into digits first
  (``text2num``), so a dialogue and a summary that say the same thing differently yield the same facts.

Usage::

    from hygeia.text.facts import extract_facts
    facts = extract_facts("Denies chest pain. Takes metoprolol 25 mg p.o. b.i.d. for the left knee.")
    facts.quantities   # (Quantity(value=25.0, unit='mg', text='25 mg'),)
    facts.drugs        # (Drug(generic='metoprolol', text='metoprolol'),)
    facts.sides        # frozenset({'left'})
    facts.negated      # frozenset({'chest', 'pain'})
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

__all__ = [
    "AFFIRMED", "NEGATED", "NEUTRAL", "Quantity", "DateFact", "Drug", "Facts", "split_sentences", "split_turns",
    "normalize_numbers", "extract_facts", "answer_polarity", "strip_answer_word", "stem", "term_polarities",
    "polar_words", "is_site_term", "is_body_part", "asks_question",
    "drug_lexicon", "synonym_lexicon",
]

# --------------------------------------------------------------------------------------------- segmentation
# Titles and short forms whose period never ends a sentence when a capitalised word follows.
_TITLES = {"dr", "mr", "mrs", "ms", "prof", "st", "sr", "jr", "vs", "approx", "fig", "no", "nos", "dept", "mt"}
_LIST_MARKER = re.compile(r"(?:(?<=^)|(?<=[.!?:;]\s)|(?<=[.!?:;]\s\s)|(?<=\n))\s*(\d{1,2}[.)])\s+(?=\S)", re.M)
_CANDIDATE = re.compile(r"[.!?]+[\"')\]]*(?=\s+[\"'(\[]?[A-Z0-9])")


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Character spans ``(start, end)`` of the sentences in ``text`` (whitespace trimmed, empty ones dropped).

    A line break ends a sentence unless the next line continues in lower case (wrapped text); a numbered list
    item ("1. She is on ...", "... b.i.d. 2. Ibuprofen ...") starts one; a period after a title ("Dr.") or an
    initial ("X.") does not end one, and neither does a dotted abbreviation ("p.o. b.i.d.") before lower case.
    """
    cuts = {0, len(text)}
    for m in re.finditer(r"\n+", text):
        nxt = text[m.end(): m.end() + 1]
        if "\n\n" in m.group() or not nxt.islower():
            cuts.add(m.end())
    list_periods = set()
    for m in _LIST_MARKER.finditer(text):
        cuts.add(m.start(1))
        list_periods.add(m.end(1) - 1)
    for m in _CANDIDATE.finditer(text):
        dot = m.start()
        if dot in list_periods:
            continue
        word = re.search(r"(^|[^A-Za-z&])([A-Za-z]+)\.?$", text[max(0, dot - 12): dot + 1])
        if text[dot] == "." and word:
            token = word.group(2)
            initial = len(token) == 1 and token.isupper() and word.group(1) in {"", " ", "(", "\n"}
            if token.lower() in _TITLES or initial:
                continue
        cuts.add(m.end())
    spans = []
    bounds = sorted(cuts)
    for start, end in zip(bounds, bounds[1:]):
        piece = text[start:end]
        if piece.strip():
            lead = len(piece) - len(piece.lstrip())
            spans.append((start + lead, start + len(piece.rstrip())))
    return spans


_SPEAKER = re.compile(r"^[ \t]*([A-Za-z][A-Za-z_ ]{0,24}?)[ \t]*:[ \t]*", re.M)


def split_turns(text: str) -> list[tuple[str, int, int]]:
    """Speaker turns of a dialogue as ``(speaker, start, end)``; ``start`` is where the words begin (after the
    label). Returns ``[]`` when fewer than two lines carry a ``Speaker:`` label (the text is not a dialogue).
    A label seen at a line start also opens a turn inside a line ("Patient: No. Doctor: Any fever?")."""
    labels = list(_SPEAKER.finditer(text))
    if len(labels) < 2:
        return []
    names = "|".join(sorted({re.escape(m.group(1).strip()) for m in labels}, key=len, reverse=True))
    inline = re.compile(rf"(?<=[.?!] )[ \t]*({names})[ \t]*:[ \t]*")
    labels = sorted(labels + list(inline.finditer(text)), key=lambda m: m.start())
    turns = []
    for here, nxt in zip(labels, labels[1:] + [None]):
        end = nxt.start() if nxt else len(text)
        body = text[here.end(): end]
        stop = here.end() + len(body.rstrip())
        if stop > here.end():
            turns.append((here.group(1).strip().lower(), here.end(), stop))
    return turns


# -------------------------------------------------------------------------------------------------- numbers
_ONCE = {"once": "1 time", "twice": "2 times", "thrice": "3 times", "a dozen": "12", "half": "0.5"}


_DECADES = {"twent": "20", "thirt": "30", "fort": "40", "fift": "50", "sixt": "60", "sevent": "70", "eight": "80",
            "ninet": "90"}


def normalize_numbers(text: str) -> str:
    """``text`` with numbers written as words turned into digits ("twenty five" -> "25", "twice" -> "2 times",
    "nineteen ninety nine" -> "1999"). Spans change, so use the result for facts, not for offsets."""
    from text_to_num import alpha2digit

    out = alpha2digit(text, "en", threshold=0)
    # "a month ago" and "for a week" say 1; "once a day" does not.
    out = re.sub(r"\b(for|about|over|past|last|within|in|than|almost|nearly) (?:a|an) (year|month|week|day|hour)\b",
                 r"\1 1 \2", out, flags=re.I)
    out = re.sub(r"\b(?:a|an) (year|month|week|day|hour)( ago| old| prior| earlier| later| history)\b", r"1 \1\2", out,
                 flags=re.I)
    out = re.sub(r"\ba couple(?: of)?\b", "2", out, flags=re.I)
    # Decades of age: "in her eighties" and "in her 80's" are both 80.
    out = re.sub(r"\b(twent|thirt|fort|fift|sixt|sevent|eight|ninet)ies\b", lambda m: _DECADES[m.group(1).lower()],
                 out, flags=re.I)
    out = re.sub(r"\b([1-9]0)'?s\b", r"\1", out)
    out = re.sub(r"\b(once|twice|thrice|a dozen|half)\b", lambda m: _ONCE[m.group(1).lower()], out, flags=re.I)
    # alpha2digit reads "nineteen ninety nine" as "19 99" and "two thousand and nine" as "2000 and 9".
    out = re.sub(r"\b(1[6-9]) ([1-9]\d)\b", r"\1\2", out)
    out = re.sub(r"\b(of|in|since|year|until) 20 ([0-9]\d)\b", r"\1 20\2", out, flags=re.I)
    out = re.sub(r"\b2000 and ([1-9]\d?)\b", lambda m: str(2000 + int(m.group(1))), out)
    return out


_UNITS = {
    "mg": "mg", "milligram": "mg", "milligrams": "mg", "mgs": "mg",
    "mcg": "mcg", "microgram": "mcg", "micrograms": "mcg", "µg": "mcg", "ug": "mcg",
    "g": "g", "gm": "g", "gram": "g", "grams": "g", "kg": "kg", "kilogram": "kg", "kilograms": "kg", "kilos": "kg",
    "lb": "lb", "lbs": "lb", "pound": "lb", "pounds": "lb", "oz": "oz", "ounce": "oz", "ounces": "oz",
    "ml": "ml", "milliliter": "ml", "milliliters": "ml", "cc": "ml", "l": "l", "liter": "l", "liters": "l",
    "unit": "unit", "units": "unit", "u": "unit", "iu": "unit", "meq": "meq", "mmol": "mmol",
    "mmhg": "mmhg", "%": "%", "percent": "%", "bpm": "bpm", "cm": "cm", "mm": "mm",
    "inch": "inch", "inches": "inch", "in": "inch", "ft": "ft", "foot": "ft", "feet": "ft",
    "year": "year", "years": "year", "yr": "year", "yrs": "year", "yo": "year", "y/o": "year",
    "month": "month", "months": "month", "week": "week", "weeks": "week", "wk": "week", "wks": "week",
    "day": "day", "days": "day", "hour": "hour", "hours": "hour", "hr": "hour", "hrs": "hour",
    "minute": "minute", "minutes": "minute", "min": "minute", "mins": "minute",
    "time": "time", "times": "time", "tablet": "tablet", "tablets": "tablet", "tab": "tablet", "tabs": "tablet",
    "pill": "tablet", "pills": "tablet", "capsule": "tablet", "capsules": "tablet", "puff": "puff", "puffs": "puff",
    "drop": "drop", "drops": "drop", "degree": "degree", "degrees": "degree", "pack": "pack", "packs": "pack",
    "cigarette": "cigarette", "cigarettes": "cigarette", "drink": "drink", "drinks": "drink", "beer": "drink",
    "beers": "drink", "glass": "drink", "glasses": "drink", "cup": "cup", "cups": "cup",
}
_UNIT_ALT = "|".join(sorted((re.escape(u) for u in _UNITS), key=len, reverse=True))
_NUMBER = re.compile(
    rf"(?<![\w.])(\d+(?:,\d{{3}})*(?:\.\d+)?)(?:st|nd|rd|th)?(?![\d.]\d)(?:(?:\s?-\s?|\s)?({_UNIT_ALT})(?![\w]))?",
    re.I,
)


@dataclass(frozen=True)
class Quantity:
    """A number with its canonical unit (``None`` when no unit follows it)."""

    value: float
    unit: str | None
    text: str

    def matches(self, other: "Quantity") -> bool:
        """Same value, and units that do not contradict (equal, or one side has none)."""
        return abs(self.value - other.value) < 1e-9 and (self.unit is None or other.unit is None
                                                          or self.unit == other.unit)


# ---------------------------------------------------------------------------------------------------- dates
_MONTHS = {m: i + 1 for i, m in enumerate(
    "january february march april may june july august september october november december".split())}
_MONTHS.update({m[:3]: i for m, i in list(_MONTHS.items())})
_MONTHS["sept"] = 9
_MONTH_ALT = "|".join(sorted(_MONTHS, key=len, reverse=True))
_NUMERIC_DATE = re.compile(r"(?<![\w/.-])(\d{1,2})[/-](\d{1,2})(?:[/-](\d{2}|\d{4}))?(?![\w/-])")
_ISO_DATE = re.compile(r"(?<![\w/.-])(\d{4})-(\d{1,2})-(\d{1,2})(?![\w/-])")
_MONTH_YEAR = re.compile(r"(?<![\w/.-])(\d{1,2})/((?:19|20)\d\d)(?![\w/-])")  # 07/2007
_MONTH_DATE = re.compile(
    rf"\b({_MONTH_ALT})\.?(?:\s+(?:the\s+)?(\d{{1,2}})(?:st|nd|rd|th)?(?!\d))?(?:,?\s+(?:of\s+)?(\d{{4}}))?\b", re.I)
_DAY_MONTH = re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?({_MONTH_ALT})\b\.?(?:,?\s+(\d{{4}}))?", re.I)
_YEAR = re.compile(r"(?<![\w/.-])(1[89]\d\d|20\d\d)(?![\w/-])")


@dataclass(frozen=True)
class DateFact:
    """A calendar date; parts the text does not give are ``None`` (``August 2008`` has no day)."""

    year: int | None
    month: int | None
    day: int | None
    text: str

    def matches(self, other: "DateFact") -> bool:
        """No part that both dates give differs, and they share at least one part."""
        pairs = [(a, b) for a, b in ((self.year, other.year), (self.month, other.month), (self.day, other.day))
                 if a is not None and b is not None]
        return bool(pairs) and all(a == b for a, b in pairs)


def _year(raw: str | None) -> int | None:
    if raw is None:
        return None
    value = int(raw)
    return value if len(raw) == 4 else (2000 + value if value <= 30 else 1900 + value)


def _dates(text: str) -> tuple[list[DateFact], list[tuple[int, int]]]:
    found: list[DateFact] = []
    taken: list[tuple[int, int]] = []

    def free(m: re.Match) -> bool:
        return all(m.end() <= s or m.start() >= e for s, e in taken)

    for m in _ISO_DATE.finditer(text):
        found.append(DateFact(int(m.group(1)), int(m.group(2)), int(m.group(3)), m.group()))
        taken.append(m.span())
    for m in _MONTH_YEAR.finditer(text):
        if 1 <= int(m.group(1)) <= 12:
            found.append(DateFact(int(m.group(2)), int(m.group(1)), None, m.group()))
            taken.append(m.span())
    for m in _NUMERIC_DATE.finditer(text):
        month, day = int(m.group(1)), int(m.group(2))
        # "5/5" strength, "2/10" pain and "3-5 drinks" are not dates: a numeric date needs its year, except a
        # zero-padded month/year ("07/06", "9/03"), which no score or range is written as.
        if not free(m) or not 1 <= month <= 12:
            continue
        if m.group(3) is None:
            if not re.fullmatch(r"\d{1,2}/0\d|0\d/\d\d", m.group()):
                continue
            found.append(DateFact(_year(m.group(2)), month, None, m.group()))
            taken.append(m.span())
            continue
        if not 1 <= day <= 31:
            continue
        found.append(DateFact(_year(m.group(3)), month, day, m.group()))
        taken.append(m.span())
    for pattern, month_at, day_at in ((_MONTH_DATE, 1, 2), (_DAY_MONTH, 2, 1)):
        for m in pattern.finditer(text):
            word = m.group(month_at).lower()
            if not free(m) or (word in {"may", "mar", "jan", "jun", "dec"} and not (m.group(day_at) or m.group(3))):
                continue  # "may" and friends are words unless a day or year is attached
            day = int(m.group(day_at)) if m.group(day_at) else None
            found.append(DateFact(_year(m.group(3)), _MONTHS[word.rstrip(".")], day, m.group()))
            taken.append(m.span())
    for m in _YEAR.finditer(text):
        if free(m):
            found.append(DateFact(int(m.group(1)), None, None, m.group()))
            taken.append(m.span())
    return found, taken


# ---------------------------------------------------------------------------------------------------- drugs
@dataclass(frozen=True)
class Drug:
    """A drug mention and its generic name (combinations are joined by "/")."""

    generic: str
    text: str

    @property
    def components(self) -> frozenset[str]:
        """The single agents of the drug (``{"hydrocodone", "acetaminophen"}`` for Vicodin)."""
        return frozenset(self.generic.split("/"))


@lru_cache(maxsize=1)
def drug_lexicon() -> dict[str, str]:
    """Every name in the shipped lexicon (generic or brand, lower case) mapped to its generic."""
    names: dict[str, str] = {}
    source = resources.files("hygeia.text").joinpath("lexicons/drugs.txt").read_text(encoding="utf-8")
    for line in source.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        generic, *brands = [n.strip() for n in line.split("|")]
        names.setdefault(generic, generic)
        for brand in brands:
            names.setdefault(brand, generic)
    return names


@lru_cache(maxsize=1)
def _drug_pattern() -> re.Pattern:
    names = sorted(drug_lexicon(), key=len, reverse=True)
    return re.compile(r"(?<![\w-])(" + "|".join(re.escape(n) for n in names) + r")(?![\w-])", re.I)


def _drugs(text: str) -> list[Drug]:
    lexicon = drug_lexicon()
    return [Drug(lexicon[m.group(1).lower()], m.group(1)) for m in _drug_pattern().finditer(text)]


# ----------------------------------------------------------------------------------------------- laterality
_ANATOMY = set("""arm arms leg legs knee knees hip hips shoulder shoulders elbow elbows wrist wrists hand hands finger
fingers thumb thumbs foot feet toe toes ankle ankles eye eyes ear ears breast breasts lung lungs kidney kidneys ovary
ovaries testicle testicles testis chest flank abdomen abdominal groin buttock buttocks thigh thighs calf calves shin
shins heel heels neck jaw face facial cheek temple temporal frontal parietal occipital side sided back lobe ventricle
ventricular atrium atrial carotid femoral radial ulnar ureter ureteral hemisphere quadrant heart sinus sinuses tonsil
nostril axilla axillary rib ribs clavicle scapula humerus femur tibia fibula radius ulna patella forearm upper lower
head mouth tooth teeth hallux index ring middle pinky little great big body part parts tube fallopian adnexa adnexal
inguinal hemithorax
pleural renal orbit orbital retina mandible maxilla cerebral basal ganglia subclavian jugular iliac popliteal toenail
fingernail nipple bundle branch limb extremity extremities trunk torso lumbar thoracic cervical gluteal scalp
forehead lip mid handed sided testicular pelvic spine shoulder's""".split())
_SIDE_WORDS = re.compile(r"\b(left|right|bilateral|bilaterally|both)\b|\b([LR])(LQ|UQ|LE|UE)\b", re.I)
# A word after "left"/"right" that makes it a side: anatomy, or a medical word by its suffix ("right orchiectomy",
# "left femoral"); "right away", "left the hospital", "that's right" stay out.
_MEDICAL_SUFFIX = re.compile(r"(?:ectomy|otomy|ostomy|plasty|pexy|scopy|itis|algia|pathy|gram|graphy|oma|al|ar|ic)$")


def _is_side(text: str, m: re.Match) -> bool:
    after = re.findall(r"[a-z']+", text[m.end(): m.end() + 40].lower())[:3]
    before = text[max(0, m.start() - 12): m.start()].lower()
    if text[m.end(): m.end() + 1] == "-":  # left-sided, right-handed
        return True
    if any(w in _ANATOMY or w.rstrip("s") in _ANATOMY for w in after):
        return True
    if after and _MEDICAL_SUFFIX.search(after[0]) and len(after[0]) > 4:
        return True
    return bool(re.search(r"(?:on|to|in|at|from) (?:the|her|his|my|your|their) $", before)) and (
        not after or after[0] not in {"now", "away", "thing", "one", "time", "place", "way", "answer"})


_ANCHOR_BEFORE, _ANCHOR_AFTER = 3, 4  # words around a side word that say what the side is of


def _anchor(m: re.Match, polarity: list[tuple[int, int, str, int]]) -> frozenset[str]:
    """Content terms next to the side word ``m`` ("left knee pain" -> knee, pain): what that side is the side of.
    The window stops at the next side word, so "left knee and right hip" ties knee to left and hip to right."""
    at = next((k for k, (start, _, _, _) in enumerate(polarity) if start >= m.start()), len(polarity))
    after = []
    for _, _, word, _ in polarity[at + 1: at + 1 + _ANCHOR_AFTER]:
        if word in {"left", "right", "bilateral", "bilaterally", "both"}:
            break
        after.append(word)
    before = []
    for _, _, word, _ in reversed(polarity[max(at - _ANCHOR_BEFORE, 0): at]):
        if word in {"left", "right", "bilateral", "bilaterally", "both"}:
            break
        before.append(word)
    return frozenset(stem(w) for w in after + before if _is_term(w))


def _sides(text: str, polarity: list[tuple[int, int, str, int]],
           anchors: list[tuple[str, frozenset[str]]] | None = None) -> set[str]:
    """Sides stated in ``text``; a side inside a negation scope ("no pain on the right") is not stated.
    ``anchors``, when given, receives ``(side, terms next to it)`` for every left/right stated."""
    negated = {start for start, _, _, value in polarity if value == NEGATED}
    sides: set[str] = set()
    for m in _SIDE_WORDS.finditer(text):
        if m.start() in negated:
            continue
        if m.group(2):
            sides.add("left" if m.group(2).upper() == "L" else "right")
            continue
        word = m.group(1).lower()
        if word in {"bilateral", "bilaterally"}:
            sides.add("bilateral")
        elif word == "both":
            after = re.findall(r"[a-z']+", text[m.end(): m.end() + 30].lower())[:2]
            if any(w in _ANATOMY or w.rstrip("s") in _ANATOMY for w in after):
                sides.add("bilateral")
        elif _is_side(text, m):
            sides.add(word)
            if anchors is not None:
                anchors.append((word, _anchor(m, polarity)))
    return sides


# ------------------------------------------------------------------------------------------------- negation
# A compact ConText (Harkema et al. 2009) rule set: a trigger opens a scope that runs forward (pre-triggers) or
# backward (post-triggers) until a terminator, the end of the clause or _MAX_SCOPE words. Terms inside a
# negation scope are negated, inside an uncertainty or "no longer" scope neutral (never compared), else affirmed.
NEGATED, NEUTRAL, AFFIRMED = -1, 0, 1
_MAX_SCOPE = 12  # words; long enough for a list of findings ("denies fever, chills, nausea or ...")
_PRE_NEGATION = {
    "no", "not", "unable", "denies", "denied", "deny", "denying", "without", "never", "none", "nor", "neither",
    "cannot",
    "can't", "cant", "don't", "dont", "doesn't", "doesnt", "didn't", "didnt", "haven't", "havent", "hasn't",
    "hasnt", "hadn't", "isn't", "isnt", "wasn't", "wasnt", "aren't", "weren't", "won't", "wouldn't", "nothing",
    "negative for", "negative", "free of", "absence of", "no evidence of", "no sign of", "no signs of", "resolution of",
}
_POST_NEGATION = {"is negative", "was negative", "are negative", "were negative", "ruled out", "was ruled out",
                  "absent", "not present", "resolved", "denied", "none", "gone", "went away"}
_NEUTRAL_TRIGGERS = {  # uncertainty, hypotheticals and things that stopped: their terms are neither side
    "not sure", "not certain", "unsure", "possible", "possibly", "probable", "probably", "maybe", "might",
    "could", "questionable", "rule out", "r/o", "if", "whether", "unless", "quit", "quitting", "stopped",
    "former", "formerly", "discontinued", "used to", "no longer", "worried", "concern for", "risk of", "afraid",
    "unclear", "suspected", "suspect",
}
_PSEUDO = {"no increase", "no change", "no significant change", "not only", "not necessarily", "no further",
           "gram negative", "not just", "no doubt", "nothing else", "no problem", "no problems", "not bad",
           "or not"}
_TERMINATORS = {"but", "however", "although", "though", "except", "aside", "apart", "yet", "which", "who",
                "whereas", "while", "still", "otherwise", "besides", "because", "since", "reports", "endorses",
                "complains", "admits", "positive", "notes", "presents", "presented", "after", "then", "exception",
                "other than", "works", "occasional", "occasionally",
                # a conjunction and a new verb start a new predicate: "no ETOH abuse and does drink at present"
                "and does", "and do", "and did", "and is", "and was", "and has", "and had", "and will", "and can"}
_STOP = set("""a about above across after again against all almost alone along already also although always am
among an and another any anyone anything anyway are around as at be became because become been before being below
beside between beyond both but by ca can could did do does doing done down due during each either else enough even
ever every everyone everything few for from further get gets got go goes going gone had has have having he her here
hers herself him himself his how i if in into is it its itself just keep last least less made make many may me might
mine more most mostly much must my myself name neither never no nobody none nor not nothing now of off often on once
one only onto or other others our ours out over own per perhaps please put quite rather really same say says said see
seem seems several she should show since so some someone something sometime sometimes still such take than that the
their them themselves then there these they this those though through thus to together too toward under unless until
up upon us used using very via was we well were what whatever when where whether which while who whom whose why will
with within without would yet you your yours yourself okay ok um uh hmm yeah yes yep nope oh alright right sure
thing things lot lots kind sort bit like also just maybe really pretty actually think know mean tell told doctor
patient patients guest family clinician mr mrs ms dr hey hi hello thank thanks good great fine let see look time
times day days week weeks month months year years today now ago currently recently there's that's it's i'm i've
i'd i'll you're don't didn't doesn't can't isn't wasn't haven't hasn't won't he's she's we're they're let's what's
states stated reports reported notes noted history the symptom symptoms problem problems issue issues other
significant particular found seen led rest regular upper lower left right side sides bilateral old moment
feel feels felt feeling need needs needed question questions concern concerns find finds detect detected normal
known unit united""".split())
_TRIGGER_WORDS = {w for group in (_PRE_NEGATION, _POST_NEGATION, _NEUTRAL_TRIGGERS) for p in group for w in p.split()}
_TOKEN = re.compile(r"[a-z0-9]+(?:['’/][a-z]+)?")


def stem(word: str) -> str:
    """A crude suffix stripper applied alike to draft and source ("lips"/"lip", "wheezing"/"wheeze" meet)."""
    w = word.lower().replace("’", "'")
    if w.endswith("'s"):
        w = w[:-2]
    if len(w) >= 5 and w.endswith("ies"):
        w = w[:-3] + "y"
    elif len(w) >= 5 and re.search(r"(?:ss|sh|ch|x|z)es$", w):
        w = w[:-2]
    elif len(w) >= 4 and w.endswith("s") and not w.endswith(("ss", "us", "is")):
        w = w[:-1]
    for suffix, min_len in (("ingly", 8), ("ing", 6), ("edly", 7), ("ed", 5), ("ness", 7), ("ly", 6)):
        if w.endswith(suffix) and len(w) >= min_len:
            w = w[: -len(suffix)]
            break
    return w[:-1] if len(w) >= 5 and w.endswith("e") else w


# Words that say where or in what frame a finding sits, not what it is: their polarity in a sentence follows the
# finding's ("the head showed no deformity", "no trouble with syncope"), so a flip is judged on findings alone.
_FRAME = set("""trouble troubles difficulty episode episodes history past prior previous recent new current experience
evidence sign signs complaint complaints area region site obvious mild moderate severe""".split())


@lru_cache(maxsize=1)
def _site_stems() -> frozenset[str]:
    return frozenset(stem(w) for w in _ANATOMY | _FRAME)


@lru_cache(maxsize=1)
def _anatomy_stems() -> frozenset[str]:
    return frozenset(stem(w) for w in _ANATOMY - {"side", "sided", "upper", "lower", "mid", "body", "part", "parts"})


def is_body_part(term: str) -> bool:
    """True when a term (stemmed, see :func:`stem`) names a body part ("knee", "shoulder")."""
    return term in _anatomy_stems()


def is_site_term(term: str) -> bool:
    """True when a term (stemmed, see :func:`stem`) names a body site or a frame word rather than a finding."""
    return term in _site_stems()


def _match_phrases(words: list[str], i: int, phrases: set[str]) -> int:
    """Length in words of the longest phrase in ``phrases`` that starts at ``words[i]`` (0 if none)."""
    for n in (4, 3, 2, 1):
        if i + n <= len(words) and " ".join(words[i: i + n]) in phrases:
            return n
    return 0


def _clause_polarity(words: list[str]) -> list[int]:
    """Polarity of each word of one clause (no sentence punctuation inside)."""
    polarity = [AFFIRMED] * len(words)
    i = 0
    while i < len(words):
        if words[i] == "non" and i + 1 < len(words):  # "non-healing": a prefix negates one word
            polarity[i + 1] = NEGATED
            i += 2
            continue
        if (n := _match_phrases(words, i, _PSEUDO)):
            i += n
            continue
        for phrases, value, forward in ((_NEUTRAL_TRIGGERS, NEUTRAL, True), (_PRE_NEGATION, NEGATED, True),
                                        (_POST_NEGATION, NEGATED, False)):
            if not (n := _match_phrases(words, i, phrases)):
                continue
            if forward:
                j = i + n
                if j < len(words) and words[j] in {"however", "though", "still"}:
                    j += 1  # an aside right after the trigger ("denies, however, any pain") does not end it
                while (j < len(words) and j < i + n + _MAX_SCOPE and not _match_phrases(words, j, _TERMINATORS)
                       and not _match_phrases(words, j, _PSEUDO)):
                    polarity[j] = value if polarity[j] != NEUTRAL else NEUTRAL
                    j += 1
            else:
                j = i - 1
                while j >= 0 and j >= i - 6 and not _match_phrases(words, j, _TERMINATORS):
                    polarity[j] = value if polarity[j] == AFFIRMED else polarity[j]
                    j -= 1
            break
        i += max(n, 1)
    return polarity


_QUESTION_START = re.compile(r",\s+(?=(?:and |so |but )?(?:are|is|do|does|did|have|has|had|any|can|could|would|will|"
                             r"how|what|when|where|why|which|who|were|was)\b)")


# Transcripts often end a question with a period ("Have you had any bowel or bladder trouble."): a clause that
# opens like a yes/no question is one.
_YES_NO_FORM = re.compile(r"^\s*(?:(?:and|so|okay|ok|now|also|well)\W+)?"
                          r"(?:(?:do|does|did|have|has|had|are|is|was|were|can|could|will|would)"
                          r"\s+(?:you|your|she|he|they|there|it|we|the|any)\b|(?:what|how) about\b|"
                          r"any\s+\w+\s*[.?]?$)")


def asks_question(text: str) -> bool:
    """True when ``text`` holds a question: a question mark, or a clause in the form of a yes/no question."""
    return "?" in text or any(_YES_NO_FORM.match(c) for c in re.split(r"[.;:!]+", text.lower()))


_NEW_SUBJECT = re.compile(r",\s+(?=(?:and |but |so )?(?:i|i'm|he|she|they|we|it|it's|that|there)\b)")
# A "No" to "Do you need / remember / think ..." denies the needing or remembering, not the thing asked about.
_MENTAL_VERBS = {"need", "remember", "recall", "know", "think", "want", "like", "mind", "understand", "believe",
                 "agree", "wish", "plan", "expect", "see", "mean", "care", "prefer", "wonder"}
_WH_WORDS = {"what", "which", "when", "where", "why", "who", "whom", "whose", "how"}
_ANY_OTHER = {("any", "other"), ("anything", "else"), ("anyone", "else"), ("something", "else"), ("aside", "from"),
              ("other", "than")}


def _settles(words: list[str], answer: int | None) -> bool:
    """Whether a "Yes"/"No" answer settles the question made of ``words``.

    Not for a wh-question ("Which condition led to the disability?" - "I don't know" denies nothing; "how about"
    and "what about" ask yes or no), nor a "No" to a question about something else ("Any other pain?" - "No."
    leaves the pain already named).
    """
    if answer is None or answer == NEUTRAL or not words:
        return False
    if words[0] in _WH_WORDS and not (len(words) > 1 and words[1] == "about"):
        return False
    return not (answer == NEGATED and (_ANY_OTHER & set(zip(words, words[1:])) or _MENTAL_VERBS & set(words)))


def polar_words(text: str, answer: int | None = None) -> list[tuple[int, int, str, int]]:
    """``(start, end, word, polarity)`` for every word of ``text`` (lower-cased), after the ConText rules.

    A question's words are neutral unless ``answer`` (see :func:`answer_polarity`) settles them: a "No" negates
    them all, a "Yes" affirms those the question did not negate ("No nausea?" - "Yes" stays ambiguous). Only the
    question proper counts as the question: in "Before I prescribe for your eczema, are you allergic to any
    drugs?" the eczema part is a statement.
    """
    lower = text.lower()
    out: list[tuple[int, int, str, int]] = []
    for clause in re.finditer(r"[^.;:!?]+([.;:!?]*)", lower):
        asked = len(lower)  # where the question proper starts (none: past the end)
        if _YES_NO_FORM.match(clause.group()):  # "How about alcohol, do you drink?" asks from its first word
            asked = clause.start()
        elif "?" in clause.group(1):
            asked = ([clause.start()] + [clause.start() + m.end()
                                         for m in _QUESTION_START.finditer(clause.group())])[-1]
        # A comma before a new subject starts a new clause: "No one figured it out, they said it was hereditary."
        parts = sorted({clause.start(), *(clause.start() + m.end() for m in _NEW_SUBJECT.finditer(clause.group())),
                        *([asked] if asked < clause.end() else [])})
        for k, begin in enumerate(parts):
            end = parts[k + 1] if k + 1 < len(parts) else clause.end()
            tokens = list(_TOKEN.finditer(lower, begin, end))
            words = [t.group() for t in tokens]
            values = _clause_polarity(words)
            asks = begin >= asked
            settled = answer if asks and _settles(words, answer) else NEUTRAL
            for tok, value in zip(tokens, values):
                if asks:
                    if settled == NEGATED:
                        value = NEGATED
                    elif settled != AFFIRMED or value != AFFIRMED:
                        value = NEUTRAL
                out.append((tok.start(), tok.end(), tok.group(), value))
    return out


def term_polarities(text: str, answer: int | None = None) -> list[tuple[str, int]]:
    """``(stemmed term, polarity)`` for every content word of ``text`` (see :func:`polar_words`).

    >>> term_polarities("Denies fever or chills but has a cough.")
    [('fever', -1), ('chill', -1), ('cough', 1)]
    """
    return [(stem(word), value) for _, _, word, value in polar_words(text, answer)
            if _is_term(word)]


def _is_term(word: str) -> bool:
    return len(word) >= 3 and word[0].isalpha() and word not in _STOP and word not in _TRIGGER_WORDS


_FILLER = r"^\W*(?:(?:um|uh|umm|uhm|well|oh|hmm|ah)\W+)*"
_NO_ANSWER = re.compile(_FILLER + r"(no|nope|nah|never|negative|none|not really|not at all|not that i know|"
                        r"i don'?t|i do not|i haven'?t|i have not|i have never|i've never|i never|i didn'?t|"
                        r"i did not|i'?m not|nothing|not)\b")
_YES_ANSWER = re.compile(_FILLER + r"(yes|yeah|yep|yup|uh-huh|uh huh|mm-hmm|mhm|sure|correct|definitely|absolutely|"
                         r"i do|i have|i did|that'?s right|right|sometimes|a little|a lot|kind of|sort of|"
                         r"of course|positive|affirmative|it is|i am)\b")


def answer_polarity(answer: str) -> int:
    """How an answer starts: ``NEGATED`` ("No, ...", "Nope", "I don't"), ``AFFIRMED`` ("Yes", "I do") or
    ``NEUTRAL`` (anything else); used to give a doctor's question the polarity the patient's answer gives it."""
    text = answer.strip().lower()
    if _NO_ANSWER.match(text):
        return NEGATED
    if (m := _YES_ANSWER.match(text)):
        # "Yes, no problems there." / "Yeah, I don't have any": the yes only acknowledges the question.
        first = re.split(r"[.;!?]", text[m.end():], maxsplit=1)[0]
        return NEUTRAL if re.search(r"\b(?:no|not|never|nothing|none)\b|n't\b", first) else AFFIRMED
    return NEUTRAL


def strip_answer_word(answer: str) -> str:
    """``answer`` without a leading bare "No," / "Yes." (it answers the question, it negates nothing after it)."""
    return re.sub(_FILLER + r"(?:no|nope|nah|yes|yeah|yep|yup|sure|okay|ok|oh)\b\s*[,.!;-]+\s*", "", answer,
                  flags=re.I)


# ------------------------------------------------------------------------------------------------- synonyms
@lru_cache(maxsize=1)
def synonym_lexicon() -> dict[str, str]:
    """Lay and abbreviated forms ("shortness of breath", "SOB") mapped to one clinical concept ("dyspnea")."""
    names: dict[str, str] = {}
    source = resources.files("hygeia.text").joinpath("lexicons/synonyms.txt").read_text(encoding="utf-8")
    for line in source.splitlines():
        if line.strip() and not line.startswith("#"):
            canonical, *variants = [n.strip() for n in line.split("|")]
            for name in (canonical, *variants):
                names.setdefault(name, canonical)
    return names


@lru_cache(maxsize=1)
def _synonym_pattern() -> re.Pattern:
    names = sorted(synonym_lexicon(), key=len, reverse=True)
    return re.compile(r"\b(" + "|".join(re.escape(n) for n in names) + r")s?\b")


def _concepts(lower: str, words: list[tuple[int, int, str, int]]) -> list[tuple[str, int]]:
    """``("concept:<canonical>", polarity)`` for every lexicon phrase in ``lower`` (polarity of its first word)."""
    lexicon = synonym_lexicon()
    out = []
    for m in _synonym_pattern().finditer(lower):
        value = next((v for start, end, _, v in words if start <= m.start() < end), AFFIRMED)
        out.append(("concept:" + lexicon[m.group(1)], value))
    return out


# ---------------------------------------------------------------------------------------------------- facts
@dataclass(frozen=True)
class Facts:
    """The critical facts found in a piece of text (see :func:`extract_facts`)."""

    quantities: tuple[Quantity, ...]
    dates: tuple[DateFact, ...]
    drugs: tuple[Drug, ...]
    sides: frozenset[str]
    negated: frozenset[str]
    affirmed: frozenset[str]
    side_anchors: tuple[tuple[str, frozenset[str]], ...] = ()  # (left/right, the terms next to it): see _anchor

    def merge(self, other: "Facts") -> "Facts":
        """The facts of both texts together."""
        return Facts(self.quantities + other.quantities, self.dates + other.dates, self.drugs + other.drugs,
                     self.sides | other.sides, self.negated | other.negated, self.affirmed | other.affirmed,
                     self.side_anchors + other.side_anchors)

    @property
    def terms(self) -> frozenset[str]:
        """Every content term, whatever its polarity."""
        return self.negated | self.affirmed

    @property
    def is_empty(self) -> bool:
        """True when the text states none of the facts the hard checks look at."""
        return not (self.quantities or self.dates or self.drugs or self.sides or self.negated)


# One-word negations of a finding, spelled out so the negation rules see them ("afebrile" = no fever).
_NEGATED_FORMS = {"afebrile": "no fever", "nonsmoker": "no smoker", "non-smoker": "no smoker",
                  "nontender": "no tender", "non-tender": "no tender", "asymptomatic": "no symptoms"}
_NEGATED_FORM = re.compile(r"\b(" + "|".join(map(re.escape, _NEGATED_FORMS)) + r")\b", re.I)


def extract_facts(text: str, answer: int | None = None) -> Facts:
    """Quantities, dates, drugs, laterality and term polarity of ``text`` (a sentence or a short passage).

    ``answer`` is the polarity of the reply when ``text`` is a dialogue turn that asks questions
    (see :func:`term_polarities`)."""
    norm = normalize_numbers(re.sub(r"^\s*\d{1,2}[.)]\s+", "", text))  # a list marker is no quantity
    norm = _NEGATED_FORM.sub(lambda m: _NEGATED_FORMS[m.group(1).lower()], norm)
    dates, taken = _dates(norm)
    spelled = {0.0} | ({1.0} if not re.search(r"(?<![\w.,/])1(?![\w.,/])", text) else set())
    quantities = []
    for m in _NUMBER.finditer(norm):
        if any(s <= m.start() < e for s, e in taken):
            continue
        value = float(m.group(1).replace(",", ""))
        unit = _UNITS.get(m.group(2).lower()) if m.group(2) else None
        if unit is None and (value in spelled or m.group(1) != m.group().strip()):
            # a lone "one" is mostly an article ("one brother"; a digit "1" is written on purpose), a lone 0 the end
            # of a scale, and a bare ordinal a rank ("second opinion", "2nd toe"); none is a measured amount
            continue
        quantities.append(Quantity(value, unit, m.group().strip()))
    words = polar_words(norm, answer)
    polarity = [(stem(w), v) for _, _, w, v in words if _is_term(w)] + _concepts(norm.lower(), words)
    anchors: list[tuple[str, frozenset[str]]] = []
    return Facts(
        quantities=tuple(quantities),
        dates=tuple(dates),
        drugs=tuple(_drugs(norm)),
        sides=frozenset(_sides(norm, words, anchors)),
        negated=frozenset(t for t, p in polarity if p == NEGATED),
        affirmed=frozenset(t for t, p in polarity if p == AFFIRMED),
        side_anchors=tuple(anchors),
    )
