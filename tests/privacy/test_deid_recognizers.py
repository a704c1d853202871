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


@pytest.mark.parametrize("text, expected", [
    ("phone: 617 5550199", "617 5550199"),               # digits grouped any way after a phone word
    ("home phone 555 0199", "555 0199"),
    ("Ph: 555-0199 x204", "555-0199 x204"),              # a local number with an extension
    ("contact number 0161 496 0018", "0161 496 0018"),   # a national number with a trunk zero
    ("cell 617 555 01 99", "617 555 01 99"),
])
def test_phone_numbers_in_more_shapes(text: str, expected: str) -> None:
    assert ("PHONE_NUMBER", expected) in hits(ClinicalContactRecognizer(), text)


@pytest.mark.parametrize("text", [
    "home 2-3 days then return", "call 12/14/2023 for results", "home 4 weeks",
    "Temp 39.2 C, HR 112, BP 142/88, K 3.8", "work 40 hrs/week",
])
def test_phone_words_before_clinical_numbers_are_kept(text: str) -> None:
    assert [h for h in hits(ClinicalContactRecognizer(), text) if h[0] == "PHONE_NUMBER"] == []


@pytest.mark.parametrize("text, expected", [
    ("Pt MRN 12 34 56 78 on file.", ("MRN", "12 34 56 78")),       # record number printed in groups
    ("Medical record number is 44172.", ("MRN", "44172")),          # "is" between the cue and the value
    ("EHR ID: 77-441-203", ("ID", "77-441-203")),                   # "<word> ID:" names an identifier
    ("Badge #: 0045A7", ("ID", "0045A7")),
    ("ICD (ser. no. RZX204417K) interrogated", ("DEVICE", "RZX204417K")),
    ("Stimulator s.n. 44-8812-A", ("DEVICE", "44-8812-A")),
    ("car reg 882-ZTR", ("VEHICLE", "882-ZTR")),
    ("checked 8G14A77B and pjn123456h", ("ID", "8G14A77B")),        # letters and 4+ digits mixed
    ("ref 4417-22-081 noted", ("ID", "4417-22-081")),               # digits in three groups
])
def test_identifier_shaped_values(text: str, expected: tuple[str, str]) -> None:
    assert expected in hits(ClinicalIdRecognizer(), text)


@pytest.mark.parametrize("text", [
    "NDC 0002-8215-01 dispensed", "ICD-10: E11.6510", "CPT 99213 billed", "LOINC 2345-7",
    "G2P1011 at 32 weeks", "T2N1M0 breast cancer, BRCA1 positive, HER2 negative, HbA1c 7.2",
    "BRAF V600E, EGFR L858R, JAK2 V617F, CA19-9 is 40",
    "Metoprolol 1000mg, gave 2000ml, 1500kcal diet, 1400hrs, 100x100 lesion",
    "reg insulin 10 units", "score 5/5, BP 142/88, L4-L5, C5-C6, COVID-19, SARS-CoV-2",
    "Percocet 5-325 mg 1-2 tabs q4-6h prn, ordered 1-2-3 protocol", "SR 70S-80S W/ RARE PVCS",
    "Temp 39.2 C, K 3.8, Na 138, 40 mg daily", "enrolled on MK-3475, vitamin D3 50000IU weekly, heparin 5000U",
])
def test_clinical_codes_doses_and_values_are_not_identifiers(text: str) -> None:
    assert hits(ClinicalIdRecognizer(), text) == []


@pytest.mark.parametrize("text, expected", [
    ("Patient lives in Quarrybend with her son.", "Quarrybend"),     # unlisted, after a home-town cue
    ("Resident of Brackenmoor.", "Brackenmoor"),
    ("PT LIVES IN QUARRYBEND ALONE.", "QUARRYBEND"),
    ("born in Aachen", "Aachen"),                                    # a town from Faker's locale lists
])
def test_home_towns(text: str, expected: str) -> None:
    assert ("CITY", expected) in hits(LocationRecognizer(), text)


@pytest.mark.parametrize("text", [
    "lives in assisted living facility", "Lives in a group home.", "Lives in New Hampshire.",
    "Lives in Section 8 housing.", "Lives in Metformin.", "She lives in Dr Kim's old house.",
])
def test_home_town_cues_before_plain_words_are_kept(text: str) -> None:
    assert [h for h in hits(LocationRecognizer(), text) if h[0] == "CITY"] == []


@pytest.mark.parametrize("text, expected", [
    ("Address: 12 Elm St, Ludlow MA", "Ludlow"),          # a listed town before a bare state code
    ("patient is a Fall River resident", "Fall River"),   # a listed town before "resident"
])
def test_listed_towns_before_a_state_code_or_resident(text: str, expected: str) -> None:
    assert ("CITY", expected) in hits(LocationRecognizer(), text)


@pytest.mark.parametrize("text", [
    "Tell ME if it hurts.", "Hospital resident on call; surgery resident paged.", "Mobile IN unit",
    "Lasix 40 mg IV; K 3.8 OR 4.0",
])
def test_plain_words_before_a_state_code_or_resident_are_kept(text: str) -> None:
    assert [h for h in hits(LocationRecognizer(), text) if h[0] == "CITY"] == []
