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


@pytest.mark.parametrize("text, value", [
    ("UDI (01)00643169007222(17)260128(10)A1234B", "(01)00643169007222(17)260128(10)A1234B"),
    ("UDI (01) 00643169007222 (17) 260128 (10) A1234B", "(01) 00643169007222 (17) 260128 (10) A1234B"),
    ("label +H123PROD1234/$$3200101LOT5/16D20200101Q", "+H123PROD1234/$$3200101LOT5/16D20200101Q"),
])
def test_unique_device_identifiers(text: str, value: str) -> None:
    assert ("DEVICE", value) in hits(ClinicalIdRecognizer(), text)


def test_device_identifier_shapes_leave_electrolytes_and_references() -> None:
    assert [e for e, _ in hits(ClinicalIdRecognizer(), "K+ 4.1, Mg++ 2.0, (01) see above")] == []


@pytest.mark.parametrize("text, expected", [
    ("License plate 4 XK 221", ("VEHICLE", "4 XK 221")),
    ("plate 070 xzq noted", ("VEHICLE", "070 xzq")),          # a lower-case note; the word after is no group
    ("Serial No.: RNB 204 417 H", ("DEVICE", "RNB 204 417 H")),
    ("serial 123456 noted", ("DEVICE", "123456")),
    ("MR #: 55123", ("MRN", "55123")),
    ("hearing aids, serial numbers 1234A567", ("DEVICE", "1234A567")),
])
def test_grouped_plates_and_serials(text: str, expected: tuple[str, str]) -> None:
    assert expected in hits(ClinicalIdRecognizer(), text)


@pytest.mark.parametrize("text", [
    "vehicle 2 days ago", "tag 12 hr", "VEHICLE 2 DAYS AGO",   # groups that are words
    "Platelets 250 K, plateau 12 days",                        # the keyword must be a whole word
    "shift 0700-1900, RN 1900-0700",                           # a time range, not an identifier
    "Plan 1 of 3, group 2",
])
def test_words_times_and_counts_after_id_keywords_are_kept(text: str) -> None:
    assert hits(ClinicalIdRecognizer(), text) == []


def test_ipv6_compressed_and_international_phone() -> None:
    text = "host 2001:db8::8a2e:370:7334 and fe80::1; at 10::30. Tel +44 20 7946 0958, +33 1 42 68 53 00."
    found = hits(ClinicalContactRecognizer(), text)
    assert ("IP_ADDRESS", "2001:db8::8a2e:370:7334") in found and ("IP_ADDRESS", "fe80::1") in found
    assert ("PHONE_NUMBER", "+44 20 7946 0958") in found and ("PHONE_NUMBER", "+33 1 42 68 53 00") in found
    assert not [v for e, v in found if v in ("10::30", "::")]


def test_international_number_needs_eight_to_fifteen_digits() -> None:
    assert hits(ClinicalContactRecognizer(), "dose +2 12 14 units") == []


def test_zip_after_state_or_town_but_not_after_an_id_word() -> None:
    rec = ClinicalAddressRecognizer()
    assert ("ZIP", "01103") in hits(rec, "Springfield, Massachusetts 01103")
    assert ("ZIP", "01103") in hits(rec, "Springfield 01103")
    assert hits(rec, "Research consent on file: study ID 767403; 12345 steps") == []


def test_town_of_several_words_before_a_state() -> None:
    rec = LocationRecognizer()
    assert ("CITY", "Oakbrook Terrace") in hits(rec, "Pt lives in Oakbrook Terrace, Illinois.")
    assert [e for e, _ in hits(rec, "Research consent on file: study ID 767403.")] == []


@pytest.mark.parametrize("text, org", [
    ("He works as a machinist at Brightline Tooling.", "Brightline Tooling"),
    ("She is employed as a cashier for Dunmore Grocers.", "Dunmore Grocers"),
    ("Works in shipping at Castellan Logistics and smokes.", "Castellan Logistics"),
])
def test_employer_after_the_trade(text: str, org: str) -> None:
    assert ("LOCATION", org) in hits(LocationRecognizer(), text)


@pytest.mark.parametrize("text", ["Pt works in the ICU at night.", "Retired from the Army in 2070.",
                                  "works as a nurse at night"])
def test_work_words_without_an_employer_name(text: str) -> None:
    assert hits(LocationRecognizer(), text) == []
