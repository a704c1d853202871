"""Surrogate operators: replace each identifier with a fake of the same shape, the same way every time.

One operator per :class:`PhiCategory`, registered in :data:`OPERATORS` (Presidio's anonymizer split:
recognizers find, operators replace). Every random choice is drawn from an HMAC of the secret key,
the patient id and the original value, so the same original always gets the same surrogate within a
patient, across notes and runs with the same key, and another patient gets another one.

- names: word by word from Faker's US name lists, keeping the shape (``KOWALSKI`` -> ``HARTLEY``,
  ``J.`` -> ``M.``, ``mary`` -> ``linda``);
- dates: shifted by one offset per patient (30 to 365 days either way), written in their own form;
- ages over 89: ``90+``; ZIP codes: the first three digits (``000`` for the sparsely populated
  ZIP3 areas of Safe Harbor), the rest ``XX``;
- numbers and codes: the same layout with other digits and letters; e-mail, URL and IP addresses:
  reserved example domains and documentation ranges; places: fake names with the facility word kept.

>>> state = PatientState(b"k" * 32, "p1")
>>> replace(PhiCategory.AGE, "93", state), replace(PhiCategory.ZIP, "03601", state)
('90+', '000XX')
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache

from hygeia.privacy.deid.dates import shift_date
from hygeia.privacy.deid.lexicon import fold, lexicon
from hygeia.privacy.phi import PhiCategory

C = PhiCategory
#: ZIP3 areas with 20,000 people or fewer (2000 Census), replaced by 000 under Safe Harbor (HHS guidance).
RESTRICTED_ZIP3 = frozenset("036 059 063 102 203 556 692 790 821 823 830 831 878 879 884 890 893".split())
SHIFT_DAYS = (30, 365)
_NAME_WORD = re.compile(r"[A-Za-z][A-Za-z'\-]*")
_FACILITY_TAIL = re.compile(
    r"(?:hospital|medical\s+cent(?:er|re)|med\.?\s+ctr|health\s+cent(?:er|re)|health\s*care|health\s+system|clinic|"
    r"infirmary|hospice|rehab(?:ilitation)?(?:\s+(?:center|hospital|facility))?|nursing\s+(?:home|facility)|"
    r"medical\s+group|cancer\s+(?:center|institute)|institute|memorial|urgent\s+care|park|center|centre|"
    r"county|lake|river|street|school|university|college|church)\s*$", re.I)


@dataclass(repr=False)
class PatientState:
    """Per-patient secrets and memory: the date offset and the surrogates given so far (PHI: no repr)."""

    key: bytes
    patient: str
    names: dict[str, str] = field(default_factory=dict)  # folded original word -> folded surrogate word
    values: dict[tuple[str, str], str] = field(default_factory=dict)
    used: set[str] = field(default_factory=set)
    known_names: set[str] = field(default_factory=set)  # name words found in earlier notes

    def __repr__(self) -> str:
        return f"PatientState(<{len(self.names) + len(self.values)} surrogates>)"

    def rng(self, *parts: str) -> random.Random:
        digest = hmac.new(self.key, "\x1f".join((self.patient, *parts)).encode(), hashlib.sha256).digest()
        return random.Random(int.from_bytes(digest[:16], "big"))

    @property
    def offset_days(self) -> int:
        rng = self.rng("date-shift")
        return rng.choice((-1, 1)) * rng.randint(*SHIFT_DAYS)


def _shape(template: str, word: str) -> str:
    if template.isupper() and len(template) > 1:
        return word.upper()
    if template.islower():
        return word.lower()
    return " ".join(w[:1].upper() + w[1:].lower() for w in word.split(" "))


def _same_layout(original: str, rng: random.Random) -> str:
    """Digits -> random digits (no leading zero where there was none), letters -> letters of the same case."""
    out = []
    for i, ch in enumerate(original):
        if ch.isdigit():
            out.append(str(rng.randint(1 if i == 0 and ch != "0" else 0, 9)))
        elif ch.isalpha():
            letter = chr(rng.randint(0, 25) + 65)
            out.append(letter if ch.isupper() else letter.lower())
        else:
            out.append(ch)
    return "".join(out)


def _unique(state: PatientState, kind: str, key: str, make: Callable[[random.Random], str]) -> str:
    """The patient's surrogate for ``key``: drawn once, never equal to the original or another surrogate."""
    slot = (kind, key)
    if slot in state.values:
        return state.values[slot]
    for attempt in range(50):
        value = make(state.rng(kind, key, str(attempt)))
        if fold(value) != key and value not in state.used:
            break
    state.values[slot] = value
    state.used.add(value)
    return value


@cache
def _us_names() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Faker's US first and last names, folded: the surrogate pools."""
    from faker.providers.person.en_US import Provider

    return tuple(fold(n) for n in Provider.first_names), tuple(fold(n) for n in Provider.last_names)


def _name_word(word: str, state: PatientState) -> str:
    lex = lexicon()
    key = fold(word)
    if key not in state.names:
        first_pool, last_pool = _us_names()
        first = key in first_pool or (key not in last_pool and key in lex.first_names)
        pool = first_pool if first else last_pool
        for attempt in range(50):
            pick = fold(state.rng("name", key, str(attempt)).choice(pool))
            if pick != key and pick not in state.used and pick not in lex.common and pick not in lex.clinical:
                break
        state.names[key] = pick
        state.used.add(pick)
    return _shape(word, state.names[key])


def name(text: str, state: PatientState) -> str:
    """Each word of a name replaced on its own (so "Smith" alone and "John Smith" agree); initials stay initials."""
    def sub(match: re.Match[str]) -> str:
        word = match.group()
        if len(word) == 1:
            letter = chr(state.rng("initial", word.upper()).randint(0, 25) + 65)
            return letter if word.isupper() else letter.lower()
        return _name_word(word, state)

    return re.sub(r"\d+", lambda m: _same_layout(m.group(), state.rng("digits", m.group())),
                  _NAME_WORD.sub(sub, text))


def date(text: str, state: PatientState) -> str:
    shifted = shift_date(text, state.offset_days)
    if shifted is not None:
        return shifted
    month = next((i for i, m in enumerate(dt.date(2000, k, 1).strftime("%B").lower() for k in range(1, 13))
                  if m == text.strip().lower()), None)
    if month is not None:  # a month alone: the month its middle day moves to
        moved = dt.date(2000, month + 1, 15) + dt.timedelta(days=state.offset_days)
        return _shape(text, moved.strftime("%B"))
    return _shape(text, "holiday")


def age(text: str, state: PatientState) -> str:
    return "90+"


def zip_code(text: str, state: PatientState) -> str:
    zip3 = re.sub(r"\D", "", text)[:3]
    return ("000" if zip3 in RESTRICTED_ZIP3 else zip3) + "XX"


def _numbers(kind: str) -> Callable[[str, PatientState], str]:
    def op(text: str, state: PatientState) -> str:
        # keyed on the characters alone: "(617) 555-1234" and "617-555-1234" get the same number,
        # each written in its own layout
        key = re.sub(r"[^0-9A-Za-z]", "", text)
        chars = iter(_unique(state, kind, key.upper(), lambda rng: _same_layout(key, rng)))
        return "".join(next(chars) if ch.isalnum() else ch for ch in text)
    op.__name__ = f"{kind}_surrogate"
    return op


def email(text: str, state: PatientState) -> str:
    local = text.split("@", 1)[0]
    return _unique(state, "email", text.lower(), lambda rng: f"{_same_layout(local, rng)}@example.org")


def url(text: str, state: PatientState) -> str:
    scheme = re.match(r"(?i)(https?://)?(www\.)?", text).group()
    return _unique(state, "url", text.lower(),
                   lambda rng: f"{scheme}example.org/{_same_layout('x' * 6, rng).lower()}")


def ip(text: str, state: PatientState) -> str:
    if ":" in text:
        return _unique(state, "ip", text.lower(), lambda rng: f"2001:db8::{rng.randint(1, 0xffff):x}")
    return _unique(state, "ip", text, lambda rng: f"192.0.2.{rng.randint(1, 254)}")  # TEST-NET-1, RFC 5737


def _fake_words(text: str, state: PatientState, kind: str) -> str:
    """Replace the name part of a place, keep its trailing kind word ("Hospital", "Park")."""
    tail = _FACILITY_TAIL.search(text)
    head = text[:tail.start()] if tail and tail.start() > 0 else text
    keep = text[len(head):]
    words = _NAME_WORD.findall(head)
    template = next((w for w in words if len(w) > 1), head)
    fake = _unique(state, kind, fold(head.strip()), lambda rng: _shape(template, _pick_last(rng)))
    return (fake + (" " if keep and not head.endswith(" ") else head[len(head.rstrip()):]) + keep) if keep else fake


def _pick_last(rng: random.Random) -> str:
    return rng.choice(_us_names()[1])


def hospital(text: str, state: PatientState) -> str:
    return _fake_words(text, state, "hospital")


def location(text: str, state: PatientState) -> str:
    return _fake_words(text, state, "location")


def city(text: str, state: PatientState) -> str:
    from faker.providers.address.en_US import Provider as Address

    def make(rng: random.Random) -> str:
        prefix, suffix = rng.choice(Address.city_prefixes), rng.choice(Address.city_suffixes)
        return _shape(text.split()[0] if text.split() else text, f"{prefix} {_pick_last(rng)}{suffix}".strip())

    return _unique(state, "city", fold(text), make)


def street(text: str, state: PatientState) -> str:
    def make(rng: random.Random) -> str:
        words = text.split(" ")
        out = []
        for i, word in enumerate(words):
            bare = word.strip(".,#")
            if any(ch.isdigit() for ch in bare):
                out.append(_same_layout(word, rng))
            elif i > 0 and len(bare) > 2 and fold(bare) not in _STREET_WORDS:
                out.append(_shape(bare, _pick_last(rng)) + word[len(bare):] if word.startswith(bare) else word)
            else:
                out.append(word)
        return " ".join(out)

    return _unique(state, "street", fold(text), make)


_STREET_WORDS = frozenset("street st avenue ave road rd boulevard blvd lane ln drive dr court ct way place pl terrace "
                          "ter circle cir highway hwy parkway pkwy square sq trail route rte apt apartment unit suite "
                          "ste floor fl room rm north south east west po box p.o.".split())

#: category -> operator(original text, patient state) -> surrogate text
OPERATORS: dict[PhiCategory, Callable[[str, PatientState], str]] = {
    C.NAME: name, C.DATE: date, C.AGE: age, C.ZIP: zip_code, C.EMAIL: email, C.URL: url, C.IP_ADDRESS: ip,
    C.HOSPITAL: hospital, C.LOCATION: location, C.CITY: city, C.STREET: street,
    **{c: _numbers(c.value.lower()) for c in (C.PHONE, C.FAX, C.SSN, C.MRN, C.HEALTH_PLAN, C.ACCOUNT, C.LICENSE,
                                              C.VEHICLE, C.DEVICE, C.ID)},
}


def replace(category: PhiCategory, text: str, state: PatientState) -> str:
    """The surrogate for one identifier ``text`` of ``category``."""
    return OPERATORS[category](text, state)
