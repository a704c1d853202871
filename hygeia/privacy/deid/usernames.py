"""User names of clinical systems ("jsmith12", "ahill48", "mary.jones"): a Presidio recognizer.

EHR log-ins are built from the person's name, so they are names under Safe Harbor. Two kinds of
evidence, neither of which depends on one note template:

- a cue word before the value: "user", "username", "login", "user ID", "signed by", "entered by",
  "typed by", ... (the value must still look like a log-in, not an ordinary word);
- the shape alone: initials glued to a listed surname or first name and a number (``ahill48`` is
  ``a`` + ``hill`` + ``48``), or two listed names joined by a dot or underscore (``mary.jones``).

Lab and drug tokens with digits (``spo2``, ``fio2``, ``b12``, ``her2``, ``covid19``) have no listed
name after their initials, or are on the clinical allow-list, so they stay.

>>> [r.entity_type for r in UsernameRecognizer().analyze("Entered by: kpatel7", [])]
['USERNAME']
"""

from __future__ import annotations

import re

from presidio_analyzer import EntityRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

from hygeia.privacy.deid import caseless
from hygeia.privacy.deid.lexicon import Lexicon, lexicon

ENTITY = "USERNAME"
_LOGIN = r"[A-Za-z][A-Za-z0-9]*(?:[._\-][A-Za-z0-9]+)*"
# a cue, an optional colon or "#", then the value (not an e-mail or a URL: those have their own recognizers)
_CUED = re.compile(
    r"\b(?:user(?:\s*name|\s*id)?|login(?:\s*id)?|log-?in|logon|uid|account\s*name|handle|"
    r"(?:(?:electronically|e-?)\s*)?signed(?:\s+electronically)?\s+by|e-?signed\s+by|entered\s+by|created\s+by|"
    r"modified\s+by|edited\s+by|typed\s+by|transcribed\s+by|transcriptionist|dictated\s+by|reviewed\s+by|"
    r"verified\s+by|sent\s+by|authored\s+by|author|by\s+user|(?:written|documented|charted|recorded|logged|"
    r"completed|updated|approved|taken|accessed|printed|opened|closed|routed|forwarded|assigned|released|"
    r"acknowledged|cosigned|co-signed|attested|scanned|uploaded|triaged|note)\s+(?:by|to)|"
    r"user\s*account|account\s*user|userid|operator|workstation\s+user|tech(?:nologist)?(?:\s+id)?|scribe|"
    r"(?:logged|signed|log(?:ged)?\s+on)\s+(?:in\s+)?as|per|by|cc|audit)(?![a-z])\s*[:#=]?\s*[(\"']?"
    rf"(?P<phi>{_LOGIN})(?![\w@]|\.[A-Za-z])", re.IGNORECASE)
# initials + a name + digits ("ahill48"), or name.name / name_name ("mary.jones", "j_smith")
# (possessive "{m,n}+": a word's letters are never given back, so a plain word fails at once)
_SHAPED = re.compile(r"(?<![\w@./\-])(?P<letters>[a-z]{3,20}+)(?P<digits>\d{1,4}+)(?![\w@]|\.\w)|"
                     r"(?<![\w@./\-])(?P<first>[a-z]{1,20}+)[._](?P<last>[a-z]{2,20}+)(?P<tail>\d{0,4}+)(?![\w@]|\.\w)")
# a lower-case log-in as a signature: after "--", "/s/" or "/" at a line start, or before a credential
_SIGNED = re.compile(r"(?m)^[ \t]*(?:--+|/s/|/|~)[ \t]*(?P<line>[a-z]{4,20}+)(?![\w@.\-])|"
                     r"(?<![\w@./\-])(?P<cred>[a-z]{4,20}+)(?=[ \t]*,?[ \t]*"
                     r"(?i:rn|md|do|np|pa|pa-c|lpn|cna|rt|slp|msw|lcsw|pharmd|rph|cnm|crna)\b)")
_STRONG_CUE = re.compile(r"user|login|log-?in|logon|uid|handle|account", re.IGNORECASE)


class UsernameRecognizer(EntityRecognizer):
    """Presidio recognizer for system user names (entity ``USERNAME``, a name under Safe Harbor)."""

    def __init__(self, lex: Lexicon | None = None) -> None:
        self.lex = lex or lexicon()
        super().__init__(supported_entities=[ENTITY], name="HygeiaUsernameRecognizer",
                         context=["user", "username", "login", "signed", "entered", "typed"])

    def load(self) -> None:  # word lists are shared and loaded in __init__
        pass

    def _name_inside(self, letters: str, trailing: bool = False) -> bool:
        """``letters`` is one or two initials and then a listed name ("ahill", "jkarz"), a listed name and then
        one or two initials ("smithj", only with ``trailing``: after a cue), or a listed name."""
        parts = [letters[i:] for i in (0, 1, 2)] + ([letters[:-i] for i in (1, 2)] if trailing else [])
        return any(len(part) >= 3 and self.lex.is_name(part) and not self.lex.is_clinical(part) for part in parts)

    def _login_like(self, value: str, strong_cue: bool) -> bool:
        """After a cue: letters with digits, a dot or underscore, or a lower-case word that is no ordinary word
        (after "user"/"login": any such word; after "signed by": one holding a listed name, "jsmith")."""
        if self.lex.is_clinical(value):
            return False
        if any(c.isdigit() for c in value) or re.search(r"[a-z][._][a-z]", value, re.IGNORECASE):
            return True
        if value.islower() and len(value) >= 4 and not self.lex.is_common(value):
            return strong_cue or self._name_inside(value, trailing=True)
        return False

    def find(self, text: str) -> list[tuple[int, int, float]]:
        """Character spans ``(start, end, score)`` of user names in ``text``."""
        spans = []
        for m in caseless.finditer(_CUED, text):  # lower-cased match: the value is read from text
            value = text[m.start("phi"):m.end("phi")]
            if value.isupper() and (text[m.start():m.end()].isupper() or _STRONG_CUE.search(m.group())):  # "USERID: RKOWALSKI" in an ALL-CAPS note
                value = value.lower()
            if self._login_like(value, bool(_STRONG_CUE.search(m.group()))):
                spans.append((m.start("phi"), m.end("phi"), 0.85))
        for m in _SIGNED.finditer(text):  # "-- rkowalski RN", "/s/ jsmith": a log-in as a signature
            group = "line" if m.group("line") else "cred"
            word = m.group(group)
            if not self.lex.is_clinical(word) and not self.lex.is_common(word) and self._name_inside(word):
                spans.append((m.start(group), m.end(group), 0.75))
        for m in _SHAPED.finditer(text):
            if m.group("letters"):
                word = m.group("letters")
                ok = not self.lex.is_clinical(word) and not self.lex.is_common(word) and self._name_inside(word)
            else:
                first, last = m.group("first"), m.group("last")
                ok = (self.lex.is_name(first) or len(first) == 1) and self.lex.is_name(last) and \
                    not (self.lex.is_common(first) and self.lex.is_common(last))
            if ok:
                spans.append((m.start(), m.end(), 0.7))
        return spans

    def analyze(self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
                ) -> list[RecognizerResult]:
        """Presidio entry point."""
        return [RecognizerResult(ENTITY, start, end, score) for start, end, score in self.find(text)]
