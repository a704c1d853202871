"""Word lists the recognizers consult: people's names, cities, and words that are neither.

Everything comes from installed packages or the lists shipped beside this module, loaded once:

- first and last names: every Latin-script name list in Faker's person providers (86 locales;
  about 20,000 first and 23,000 last names, accents folded), so names from many origins are found
  in any letter case;
- cities and countries: the US and Canadian place names in the ``phonenumbers`` geocoding data (about 7,000)
  and the town lists of Faker's address providers (about 30,000, Latin script);
- common words: ``wordlists/common_words.txt`` (lower-case words of MTS-Dialog), textstat's
  Dale-Chall easy words and spaCy's stop words: a name that is also such a word ("Will",
  "Hope", "Brown") needs context before it counts;
- clinical words: ``wordlists/clinical_allowlist.txt`` (eponyms, abbreviations, drugs), never a
  name on their own.

>>> lex = lexicon()
>>> lex.is_name("kowalski"), lex.is_common("will"), lex.is_clinical("foley")
(True, True, True)
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path

_LISTS = Path(__file__).with_name("wordlists")
_NAME_WORD = re.compile(r"[a-z][a-z'\-]*[a-z]")

#: US states and their postal codes: not PHI under Safe Harbor, so never reported as a city.
US_STATES = {
    "AL": "Alabama", "AK": "Alaska", "AZ": "Arizona", "AR": "Arkansas", "CA": "California", "CO": "Colorado",
    "CT": "Connecticut", "DE": "Delaware", "DC": "District of Columbia", "FL": "Florida", "GA": "Georgia",
    "HI": "Hawaii", "ID": "Idaho", "IL": "Illinois", "IN": "Indiana", "IA": "Iowa", "KS": "Kansas",
    "KY": "Kentucky", "LA": "Louisiana", "ME": "Maine", "MD": "Maryland", "MA": "Massachusetts",
    "MI": "Michigan", "MN": "Minnesota", "MS": "Mississippi", "MO": "Missouri", "MT": "Montana",
    "NE": "Nebraska", "NV": "Nevada", "NH": "New Hampshire", "NJ": "New Jersey", "NM": "New Mexico",
    "NY": "New York", "NC": "North Carolina", "ND": "North Dakota", "OH": "Ohio", "OK": "Oklahoma",
    "OR": "Oregon", "PA": "Pennsylvania", "RI": "Rhode Island", "SC": "South Carolina", "SD": "South Dakota",
    "TN": "Tennessee", "TX": "Texas", "UT": "Utah", "VT": "Vermont", "VA": "Virginia", "WA": "Washington",
    "WV": "West Virginia", "WI": "Wisconsin", "WY": "Wyoming", "PR": "Puerto Rico",
}


# letters that NFKD does not take apart
_SPECIAL = str.maketrans({"ı": "i", "ø": "o", "Ø": "O", "æ": "ae", "Æ": "AE", "ß": "ss", "đ": "d", "Đ": "D", "ł": "l",
                          "Ł": "L", "œ": "oe", "Œ": "OE", "þ": "th", "ð": "d", "’": "'"})
_TOWN_SHAPE = re.compile(r"(?:ton|ville|burg|burgh|borough|boro|bury|port|mouth|land|shire|field|ford|view|town|"
                         r"haven|side|chester|berg|stad|heim|wood|dale|mont)$")


@cache
def fold(word: str) -> str:
    """Lower case without accents: ``"Núñez"`` -> ``"nunez"``, ``"Altınbike"`` -> ``"altinbike"`` (list keys)."""
    return unicodedata.normalize("NFKD", word.translate(_SPECIAL)).encode("ascii", "ignore").decode().lower()


def _read(name: str, section: str = "") -> frozenset[str]:
    """The words of a shipped list (``section``: only those under a ``# -- <section>`` header)."""
    words, current = set(), ""
    for line in (_LISTS / name).read_text(encoding="utf-8").splitlines():
        if line.startswith("# --"):
            current = line[4:].strip().split()[0]
        elif line.strip() and not line.startswith("#") and (not section or current == section):
            words.add(line.strip())
    return frozenset(words)


def _faker_names() -> tuple[frozenset[str], frozenset[str]]:
    import faker.providers.person as person

    first: set[str] = set()
    last: set[str] = set()
    for module in pkgutil.iter_modules(person.__path__):
        provider = importlib.import_module(f"{person.__name__}.{module.name}").Provider
        for attr, value in vars(provider).items():
            # "first_names", "first_names_female", "first_romanized_names", "last_names_male", ...
            kind = first if "first" in attr and "name" in attr else last if "last" in attr and "name" in attr else None
            if kind is None or not isinstance(value, (list, tuple, dict)):
                continue
            for name in value:
                if isinstance(name, str) and _NAME_WORD.fullmatch(folded := fold(name)):
                    kind.add(folded)
    return frozenset(first), frozenset(last)


def _cities() -> frozenset[str]:
    from phonenumbers.geodata import GEOCODE_DATA

    cities = set()
    for prefix, names in GEOCODE_DATA.items():
        place = names.get("en", "") if prefix.startswith("1") else ""
        if ", " in place:  # "Jersey City, NJ": the part before the state code is a city
            cities.add(fold(place.rsplit(", ", 1)[0]))
    return frozenset(cities)


def _faker_cities() -> set[str]:
    """Latin-script town names of Faker's address providers (every locale that lists them), folded.

    Short ones (under four letters) are left out, and :func:`lexicon` drops those that are English words;
    a listed city still needs a place cue ("lives in", "from", a state or ZIP after it) to count.
    """
    import faker.providers.address as address

    cities: set[str] = set()
    for module in pkgutil.iter_modules(address.__path__):
        try:
            provider = importlib.import_module(f"{address.__name__}.{module.name}").Provider
        except (ImportError, AttributeError):
            continue
        for attr in ("cities", "city_names"):
            names = getattr(provider, attr, ())
            if isinstance(names, (list, tuple)):
                for name in names:
                    if isinstance(name, str) and len(folded := fold(name)) >= 4 and \
                            re.fullmatch(r"[a-z][a-z' \-]*[a-z]", folded):
                        cities.add(folded)
    return cities


@dataclass(frozen=True)
class Lexicon:
    """Lower-case, accent-folded word sets; see the module docstring for their sources."""

    first_names: frozenset[str]
    last_names: frozenset[str]
    cities: frozenset[str]
    common: frozenset[str]
    clinical: frozenset[str]
    states: frozenset[str]
    countries: frozenset[str]
    eponyms: frozenset[str] = frozenset()  # the eponym part of the clinical list ("gehrig", "parkinson")

    def is_name(self, word: str) -> bool:
        """``word`` is a first or last name in some locale (any case)."""
        folded = fold(word)
        return folded in self.first_names or folded in self.last_names

    def is_common(self, word: str) -> bool:
        """``word`` is an ordinary English or clinical word (a name that is one needs context)."""
        folded = fold(word)
        return folded in self.common or folded in self.clinical

    def is_clinical(self, word: str) -> bool:
        """``word`` is on the clinical allow-list (eponym, abbreviation, drug)."""
        return fold(word) in self.clinical

    def is_city(self, phrase: str) -> bool:
        """``phrase`` is a US or Canadian city name (any case)."""
        return fold(phrase) in self.cities

    def looks_like_town(self, phrase: str) -> bool:
        """Shaped like an English place name ("Jonesland", "Ballshire") and no ordinary word."""
        key = fold(phrase)
        return bool(_TOWN_SHAPE.search(key)) and key.replace(" ", "").isalpha() and key not in self.common

    def is_state(self, phrase: str) -> bool:
        """``phrase`` is a US state or its postal code."""
        return fold(phrase) in self.states


@cache
def lexicon() -> Lexicon:
    """The word lists, built once per process (about a second)."""
    from spacy.lang.en.stop_words import STOP_WORDS

    spec = importlib.util.find_spec("textstat")
    easy = Path(spec.origin if spec and spec.origin else ".").parent / "resources" / "en" / "easy_words.txt"
    common = set(_read("common_words.txt")) | set(STOP_WORDS)
    if easy.exists():  # textstat's Dale-Chall list; optional so a textstat re-layout degrades, not breaks
        common |= {fold(w) for w in easy.read_text(encoding="utf-8").split()}
    first, last = _faker_names()
    states = {fold(code) for code in US_STATES} | {fold(name) for name in US_STATES.values()}
    from faker.providers.address.en_US import Provider as Address

    countries = frozenset(fold(c) for c in Address.countries) | {"usa", "us", "u.s.", "united states", "america", "uk"}
    cities = _cities() | {c for c in _faker_cities() if c not in common}  # "Ora", "Sale": words first
    return Lexicon(first, last, cities, frozenset(common), _read("clinical_allowlist.txt"), frozenset(states),
                   countries, _read("clinical_allowlist.txt", section="eponyms"))
