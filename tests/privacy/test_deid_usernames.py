"""System user names: found after a cue word or by their shape; lab and drug tokens with digits stay."""

from __future__ import annotations

import pytest

from hygeia.privacy.deid.usernames import UsernameRecognizer


@pytest.fixture(scope="module")
def rec() -> UsernameRecognizer:
    return UsernameRecognizer()


def found(rec: UsernameRecognizer, text: str) -> set[str]:
    return {text[a:b] for a, b, _ in rec.find(text)}


@pytest.mark.parametrize("text, expected", [
    ("Entered by: kpatel7", "kpatel7"),          # cue + digits
    ("user: jsmith", "jsmith"),                  # strong cue, an unlisted lower-case word
    ("Electronically signed by rlee22 on 3/4", "rlee22"),
    ("login mary.jones ok", "mary.jones"),       # name.name
    ("note routed to ahill48 for review", "ahill48"),  # shape alone: initial + listed surname + digits
])
def test_user_names(rec: UsernameRecognizer, text: str, expected: str) -> None:
    assert expected in found(rec, text)


@pytest.mark.parametrize("text", [
    "spo2 92% on ra, fio2 40%, b12 low, her2 neg, covid19 pcr neg, brca1 neg, hba1c 7.1, ca125 high, cd4 200",
    "pco2 40 po2 80 il6 high t4 low q4h etco2 35",
    "see www.mychart.sehc.org and john.smith@example.org",   # URLs and e-mails have their own recognizers
    "pt is a user of cannabis; login issues resolved",       # a cue before an ordinary word
    "signed by Dr Smith",                                    # a name, found by the name recognizer
])
def test_clinical_tokens_and_plain_words_are_kept(rec: UsernameRecognizer, text: str) -> None:
    assert found(rec, text) == set()


@pytest.mark.parametrize("text, expected", [
    ("USERID: RKOWALSKI", "RKOWALSKI"),                  # ALL-CAPS note: the value is judged in lower case
    ("Message left by user SMITHJ.", "SMITHJ"),          # strong cue: an upper-case log-in in a mixed note
    ("Logged in as jsmith to the portal.", "jsmith"),
    ("Scribe: bwalker", "bwalker"),                      # initial + listed surname after a role cue
    ("ordered by jlee (resident)", "jlee"),
    ("call taken by smithj", "smithj"),                  # surname + initial after a cue
    ("-- rkowalski RN", "rkowalski"),                    # a log-in as a signature, before a credential
    ("/s/ mgarcia", "mgarcia"),
])
def test_user_names_in_more_places(rec: UsernameRecognizer, text: str, expected: str) -> None:
    assert expected in found(rec, text)


@pytest.mark.parametrize("text", [
    "I have personally reviewed the images",      # "per" inside a word is no cue
    "given by mouth per protocol, per md, transported by ambulance",
    "vitd3 given, psa4 normal",                   # a lab with a digit: no name + initial shape without a cue
    "-- tolerated well",                          # a plain word as a "signature"
    "gave tylenol per md",
])
def test_cues_before_ordinary_words_are_kept(rec: UsernameRecognizer, text: str) -> None:
    assert found(rec, text) == set()
