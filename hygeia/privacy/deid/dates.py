"""Dates in every written form, found and shifted without changing their form.

``find_dates`` returns the character spans of dates (``8/14``, ``14-Aug``, ``August 14th``,
``2/3/2089``, ``2089-02-03``, ``20890203``, ``Aug 2089``, ``08/2089``, holidays, a month name) and
leaves out what is not a date: a bare year, a weekday, "yesterday", scores and ratios (``5/5`` strength, ``7/10`` pain,
``BP 120/80``, ``1/2 tab``). ``shift_date`` moves one found date by a number of days and writes it
back in its own style: ``8/14`` stays month/day, ``August 14th`` keeps the ordinal, ``AUG`` stays
upper case, zero padding and two-digit years are kept.

>>> shift_date("August 14th, 2089", 3), shift_date("8/14", -14), shift_date("2089-02-27", 2)
('August 17th, 2089', '7/31', '2089-03-01')
"""

from __future__ import annotations

import datetime as dt
import re

_MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
           "november", "december"]
_MON = r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?" \
       r"|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
_D = r"(?:0?[1-9]|[12]\d|3[01])"
_Y4 = r"(?:1[89]\d\d|2[01]\d\d)"
_SUF = r"(?:st|nd|rd|th)"
_L = r"(?<![\w/.\-])"  # left edge: not inside a number, word, ratio or decimal
_R = r"(?![\w/]|[.\-]\d)"  # right edge

_PATTERNS = [
    # 2089-02-03, 2089/02/03, 2089-02-03T10:00
    rf"{_L}(?P<y>{_Y4})(?P<s>[-/.])(?P<m>0?[1-9]|1[0-2])(?P=s)(?P<d>0?[1-9]|[12]\d|3[01])(?!\d)",
    # 2/3/2089, 02-03-89, 2.3.2089
    rf"{_L}(?P<m>0?[1-9]|1[0-2])(?P<s>[/\-.])(?P<d>0?[1-9]|[12]\d|3[01])(?P=s)(?P<y>\d{{4}}|\d{{2}}){_R}",
    # 20890814 (compact ISO)
    rf"(?<![\w.\-/])(?P<y>{_Y4})(?P<m>0[1-9]|1[0-2])(?P<d>0[1-9]|[12]\d|3[01])(?![\w\-/]|\.\d)",
    # 08/2089
    rf"{_L}(?P<m>0?[1-9]|1[0-2])/(?P<y>{_Y4}){_R}",
    # 8/14 (checked against scores and fractions by the caller)
    rf"{_L}(?P<m>0?[1-9]|1[0-2])/(?P<d>0?[1-9]|[12]\d|3[01]){_R}",
    # August 14th, 2089 ; Aug. 14 ; AUG 14 2089 ; August 14th of 2089
    rf"(?<![\w])(?P<mon>{_MON})(?P<dot>\.)?(?P<s>[ \-]|\.\s?)(?P<d>{_D})(?P<suf>{_SUF})?(?!\d|:\d)"
    rf"(?:(?P<ys>,\s*|\s+of\s+|\s+|-)(?P<y>{_Y4}|'\d\d))?(?![\w])",
    # 14 August 2089 ; 14-Aug ; 14-AUG-89 ; 14th of August ; 14Aug2089
    rf"{_L}(?P<d>{_D})(?P<suf>{_SUF})?(?P<s>\s+of\s+|[ \-]?)(?P<mon>{_MON})(?P<dot>\.(?=[ ,\-]*\d))?"
    rf"(?:(?P<ys>,\s*|[ \-]?)(?P<y>{_Y4}|\d\d(?!\d|:\d)))?(?![\w])",
    # August 2089 ; Aug-89
    rf"(?<![\w])(?P<mon>{_MON})(?P<dot>\.)?(?P<s>,?\s+|-)(?P<y>{_Y4}|'\d\d|(?<=-)\d\d)(?![\w])",
]
_COMPILED = [re.compile(p, re.I) for p in _PATTERNS]

HOLIDAYS = re.compile(r"(?<![\w])(?:christmas(?: eve| day)?|thanksgiving|new year'?s(?: eve| day)?|easter|"
                      r"hanukkah|halloween|independence day|memorial day|labor day|veterans day|"
                      r"valentine'?s day|mother'?s day|father'?s day)(?![\w])", re.I)
# a month name alone ("in August"): "may" and "march" are words, so they need a capital letter
MONTH_ALONE = re.compile(r"(?<![\w])(?:January|February|April|June|July|August|September|October|November|"
                         r"December|JANUARY|FEBRUARY|APRIL|JUNE|JULY|AUGUST|SEPTEMBER|OCTOBER|NOVEMBER|DECEMBER|"
                         r"March|May|MARCH)(?![\w])")

_SCORE_BEFORE = re.compile(
    r"(?:\b(?:bp|blood pressure|strength|motor|power|grade|graded|murmur|score|reflex(?:es)?|pain|rated|rates|"
    r"ratio|tab|tabs|tablets?|pills?|x|gcs|apgar|apgars|sbp|dbp|map|i:e|dtr|dtrs|sensation|rom|of)\W{0,3}|[+\-])$",
    re.I)
_SCORE_AFTER = re.compile(
    r"^(?:\s*(?:mm\s?hg|strength|murmur|sem|pain|power|motor|reflex|systolic|holosystolic|tabs?|tablets?|pills?|"
    r"cups?|inch|inches|of\b|in\b|bilat|bilaterally|b/l|throughout|\+|x\b|ratio|times|doses?|sets|vessels?|"
    r"cm|mm|kg|mg|ml|%|spoons?|strength|scale|dose|positive|negative|cultures?|bottles?|lobes?|quadrants?)|/)",
    re.I)
_SCORE_WORD = re.compile(r"\b(?:pain|strength|motor|power|murmur|score|scale|grade|reflex(?:es)?|rated)\b", re.I)
_DATE_CUE = re.compile(r"\b(?:on|since|from|until|till|to|dated?|admitted|admission|discharged?|seen|dos|doa|dob|"
                       r"visit|through|thru|last|next|starting|started|by|effective|born|d/c|f/u|follow\s?up|"
                       r"returned?|surgery|op|scheduled|sched|appt|appointment|in|done|performed|obtained|drawn|"
                       r"placed|stopped|given|received|reviewed|rtc)\W{0,3}$", re.I)


def _is_score(text: str, start: int, end: int, match: re.Match[str]) -> bool:
    """Month/day without a year that reads as a score, ratio or fraction instead of a date."""
    if match.group("m").startswith("0") or match.group("d").startswith("0"):
        return False  # "02/05": scores and fractions are never zero-padded
    before, after = text[max(0, start - 18):start], text[end:end + 16]
    # a score word earlier in the sentence ("pain 7/10, improved to 3/10") outweighs a date cue
    sentence = re.split(r"[.;\n]", text[max(0, start - 60):start])[-1]
    if _SCORE_BEFORE.search(before) or _SCORE_WORD.search(sentence):
        return True
    if _DATE_CUE.search(before):
        return False
    if _SCORE_AFTER.search(after):
        return True
    m, d = int(match.group("m")), int(match.group("d"))
    # x/5 strength, x/10 pain, x/6 murmur, 1/2 ...: the usual denominators of scores and fractions
    return m <= d and d in (2, 3, 4, 5, 6, 10)


def find_dates(text: str) -> list[tuple[int, int]]:
    """Character spans ``(start, end)`` of every date in ``text`` (bare years and scores left out)."""
    candidates = []
    for idx, pattern in enumerate(_COMPILED):
        for match in pattern.finditer(text):
            start, end = match.span()
            if idx == 4 and _is_score(text, start, end, match):
                continue
            if idx in (5, 6, 7) and not _month_ok(text, match):
                continue
            candidates.append((start, end))
    for pattern in (HOLIDAYS, MONTH_ALONE):  # a weekday alone names no date: kept, as Safe Harbor allows
        candidates += [m.span() for m in pattern.finditer(text)]
    taken: list[tuple[int, int]] = []
    for start, end in sorted(candidates, key=lambda se: se[0] - se[1]):  # longest first: "05-NOV-17" over "NOV-17"
        if all(end <= s or start >= e for s, e in taken):
            taken.append((start, end))
    return sorted(taken)


def _month_ok(text: str, match: re.Match[str]) -> bool:
    """"may 5" and "mar 3" in lower case are usually words: they need a year, an ordinal or a date cue."""
    mon = match.group("mon")
    if mon.lower() not in ("may", "mar", "march") or not mon.islower():
        return True
    groups = match.groupdict()
    return bool(groups.get("y") or groups.get("suf") or _DATE_CUE.search(text[max(0, match.start() - 18):match.start()]))


# -- shifting --------------------------------------------------------------------------------------
def _case_like(template: str, word: str) -> str:
    if template.isupper():
        return word.upper()
    if template.islower():
        return word.lower()
    return word.capitalize()


def _ordinal(day: int) -> str:
    return "th" if 10 <= day % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")


def _parse(text: str) -> tuple[re.Match[str], int] | None:
    for idx, pattern in enumerate(_COMPILED):
        match = pattern.fullmatch(text.strip())
        if match:
            return match, idx
    return None


def shift_date(text: str, days: int) -> str | None:
    """``text`` (one date as found by :func:`find_dates`) moved by ``days``, in the same style.

    Returns ``None`` for a form that has no day to shift (a weekday, a holiday, a month alone):
    the caller replaces those with a generic surrogate.
    """
    parsed = _parse(text)
    if parsed is None:
        return None
    match, idx = parsed
    groups = {k: v for k, v in match.groupdict().items() if v is not None}
    month = int(groups["m"]) if "m" in groups else _month_number(groups["mon"])
    day = int(groups.get("d", "15"))  # month-year dates: shift the middle of the month
    year_text = groups.get("y")
    year = _full_year(year_text) if year_text else 2000  # no year: a leap year, so 2/29 is valid
    try:
        moved = dt.date(year, month, day) + dt.timedelta(days=days)
    except ValueError:
        return None
    # zero padding is a style of the whole date: ISO always pads, "02/3/89" pads as "02/03/89" does
    padded = idx in (0, 2) or any(groups.get(g, "").startswith("0") for g in ("m", "d"))
    out = []
    for name in ("m", "mon", "d", "y"):  # rewrite each group in place, right to left keeps offsets
        if name in groups:
            out.append((match.start(name), match.end(name), _render(name, groups[name], moved, padded)))
    if "suf" in groups:
        out.append((match.start("suf"), match.end("suf"), _case_like(groups["suf"], _ordinal(moved.day))))
    result = match.string.strip()
    for start, end, value in sorted(out, reverse=True):
        result = result[:start] + value + result[end:]
    return result


def _month_number(name: str) -> int:
    key = name.lower()[:3]
    return next(i for i, m in enumerate(_MONTHS, 1) if m.startswith(key))


def _full_year(text: str) -> int:
    digits = int(text.lstrip("'"))
    if len(text.lstrip("'")) == 4:
        return digits
    return 2000 + digits if digits < 50 else 1900 + digits


def _render(name: str, original: str, moved: dt.date, padded: bool) -> str:
    if name == "m":
        return f"{moved.month:02d}" if padded else str(moved.month)
    if name == "d":
        return f"{moved.day:02d}" if padded and not original.isalpha() else str(moved.day)
    if name == "y":
        if original.startswith("'"):
            return f"'{moved.year % 100:02d}"
        return str(moved.year) if len(original) == 4 else f"{moved.year % 100:02d}"
    full = _MONTHS[moved.month - 1]
    if len(original) == 4 and original.lower() == "sept":
        word = "sept" if moved.month == 9 else full[:3]
    else:
        word = full if len(original) > 3 else full[:3]
    return _case_like(original, word)
