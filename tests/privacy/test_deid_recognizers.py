"""Pattern recognizers: each identifier in a realistic sentence, and the numbers that must stay."""

from __future__ import annotations

import pytest

from hygeia.privacy.deid.locations import LocationRecognizer
from hygeia.privacy.deid.recognizers import (
    ClinicalAddressRecognizer,
    ClinicalAgeRecognizer,
    ClinicalContactRecognizer,
    ClinicalIdRecognizer,
)


def hits(recognizer, text: str) -> list[tuple[str, str]]:
    return [(r.entity_type, text[r.start:r.end]) for r in sorted(recognizer.analyze(text, []), key=lambda r: r.start)]


@pytest.mark.parametrize("text, expected", [
    ("A 92 yo woman", [("AGE", "92")]),
    ("She is a 95-year-old retired teacher", [("AGE", "95")]),
    ("Aged 101, lives alone", [("AGE", "101")]),
    ("91F with CHF", [("AGE", "91")]),
])
def test_ages_over_89(text: str, expected: list[tuple[str, str]]) -> None:
    assert hits(ClinicalAgeRecognizer(), text) == expected


@pytest.mark.parametrize("text", ["A 45 yo man", "89-year-old woman", "age 72", "HR 95, BP 120/80", "RR 92 bpm"])
def test_ages_up_to_89_and_vitals_are_not_phi(text: str) -> None:
    assert hits(ClinicalAgeRecognizer(), text) == []


def test_contacts() -> None:
    text = ("Call (617) 555-1234 or pager 41234; fax: 617-555-9876. Email jsmith@mgh.example.org, "
            "portal https://portal.mercy.org/p/12 or www.mercyhealth.org; host 10.2.3.4.")
    found = hits(ClinicalContactRecognizer(), text)
    assert ("PHONE_NUMBER", "(617) 555-1234") in found
    assert ("PHONE_NUMBER", "41234") in found
    assert ("FAX", "617-555-9876") in found
    assert ("EMAIL_ADDRESS", "jsmith@mgh.example.org") in found
    assert ("URL", "https://portal.mercy.org/p/12") in found
    assert ("URL", "www.mercyhealth.org") in found
    assert ("IP_ADDRESS", "10.2.3.4") in found


def test_invalid_ip_and_versions_are_not_addresses() -> None:
    assert [e for e, _ in hits(ClinicalContactRecognizer(), "software 2.10.300.1, lab 1.2.3 ratio")] == []


@pytest.mark.parametrize("text, expected", [
    ("MRN: 4417203", ("MRN", "4417203")),
    ("Acct# A99812-01", ("ACCOUNT", "A99812-01")),
    ("Medicaid policy no. XZ4411983", ("HEALTH_PLAN", "XZ4411983")),
    ("DEA # BK1234563", ("LICENSE", "BK1234563")),
    ("pacemaker serial number PJN443812", ("DEVICE", "PJN443812")),
    ("license plate 7ABC123", ("VEHICLE", "7ABC123")),
    ("SSN 123-45-6789", ("US_SSN", "123-45-6789")),
])
def test_identifiers_named_by_their_context_word(text: str, expected: tuple[str, str]) -> None:
    assert expected in hits(ClinicalIdRecognizer(), text)


@pytest.mark.parametrize("text", [
    "Platelets 250000 cells, WBC 12.3, Na 138, INR 1.2",
    "Metoprolol 25 mg BID, insulin 10 units",
    "Model for end-stage liver disease 18",
])
def test_lab_values_and_doses_are_not_identifiers(text: str) -> None:
    assert hits(ClinicalIdRecognizer(), text) == []


def test_street_zip_and_po_box() -> None:
    text = "Lives at 12 Elm Street, Apt 4, Springfield, MA 01103; mail to P.O. Box 778."
    found = hits(ClinicalAddressRecognizer(), text)
    assert ("STREET_ADDRESS", "12 Elm Street, Apt 4") in found
    assert ("ZIP", "01103") in found
    assert ("STREET_ADDRESS", "P.O. Box 778") in found


def test_a_scan_is_not_a_street() -> None:
    assert hits(ClinicalAddressRecognizer(), "Had 1 head CT and 2 chest Dr. visits") == []


def test_hospitals_and_cities_in_any_case() -> None:
    rec = LocationRecognizer()
    text = "TRANSFERRED FROM MERCY HOSPITAL IN WORCESTER ON ARRIVAL."
    assert hits(rec, text) == [("HOSPITAL", "MERCY HOSPITAL"), ("CITY", "WORCESTER")]
    text = "Followed at Massachusetts General Hospital; she lives in Springfield, MA with her son."
    assert hits(rec, text) == [("HOSPITAL", "Massachusetts General Hospital"), ("CITY", "Springfield")]


def test_states_countries_and_the_word_hospital_alone_are_kept() -> None:
    rec = LocationRecognizer()
    assert hits(rec, "Moved to Massachusetts from Canada; the hospital course was brief.") == []
