"""Surrogates: same shape, same value for the same patient, other values for another patient."""

from __future__ import annotations

import re

from hygeia.privacy.deid.operators import PatientState, replace
from hygeia.privacy.phi import PhiCategory as C

KEY = b"test key, not a real secret"


def test_names_keep_their_shape_and_agree_word_by_word() -> None:
    state = PatientState(KEY, "p1")
    upper, title, lower = (replace(C.NAME, w, state) for w in ("KOWALSKI", "Kowalski", "kowalski"))
    assert upper.isupper() and title.istitle() and lower.islower()
    assert upper.lower() == title.lower() == lower.lower() != "kowalski"
    full = replace(C.NAME, "Anna Kowalski", state)
    assert full.split()[1] == title  # "Kowalski" alone and inside a full name agree
    initials = replace(C.NAME, "J.K.", state)
    assert re.fullmatch(r"[A-Z]\.[A-Z]\.", initials)


def test_another_patient_gets_another_surrogate_and_the_same_key_reproduces() -> None:
    one, two = PatientState(KEY, "p1"), PatientState(KEY, "p2")
    assert replace(C.NAME, "Kowalski", one) != replace(C.NAME, "Kowalski", two)
    assert replace(C.NAME, "Kowalski", PatientState(KEY, "p1")) == replace(C.NAME, "Kowalski", one)
    assert replace(C.NAME, "Kowalski", PatientState(b"other key", "p1")) != replace(C.NAME, "Kowalski", one)


def test_dates_shift_by_one_offset_per_patient() -> None:
    state = PatientState(KEY, "p1")
    assert 30 <= abs(state.offset_days) <= 365
    assert state.offset_days == PatientState(KEY, "p1").offset_days
    shifted = replace(C.DATE, "8/14", state)
    assert re.fullmatch(r"\d{1,2}/\d{1,2}", shifted) and shifted != "8/14"
    assert re.fullmatch(r"[A-Z][a-z]+ \d{1,2}(st|nd|rd|th), \d{4}", replace(C.DATE, "August 14th, 2089", state))


def test_age_zip_and_numbers() -> None:
    state = PatientState(KEY, "p1")
    assert replace(C.AGE, "93", state) == "90+"
    assert replace(C.ZIP, "01103", state) == "011XX"
    assert replace(C.ZIP, "03601-1234", state) == "000XX"  # a restricted ZIP3 (Safe Harbor)
    phone = replace(C.PHONE, "(617) 555-1234", state)
    assert re.fullmatch(r"\(\d{3}\) \d{3}-\d{4}", phone) and phone != "(617) 555-1234"
    same = replace(C.PHONE, "617-555-1234", state)
    assert re.fullmatch(r"\d{3}-\d{3}-\d{4}", same) and re.sub(r"\D", "", same) == re.sub(r"\D", "", phone)
    mrn = replace(C.MRN, "AB-44172", state)
    assert re.fullmatch(r"[A-Z]{2}-\d{5}", mrn) and mrn != "AB-44172"


def test_contact_and_place_surrogates_leave_nothing_of_the_original() -> None:
    state = PatientState(KEY, "p1")
    assert replace(C.EMAIL, "jsmith@mgh.org", state).endswith("@example.org")
    assert "mercy" not in replace(C.URL, "www.mercyhealth.org", state)
    assert replace(C.IP_ADDRESS, "10.2.3.4", state).startswith("192.0.2.")
    hospital = replace(C.HOSPITAL, "MERCY HOSPITAL", state)
    assert hospital.endswith(" HOSPITAL") and "MERCY" not in hospital and hospital.isupper()
    street = replace(C.STREET, "12 Elm Street", state)
    assert street.endswith(" Street") and "Elm" not in street
    assert replace(C.CITY, "Springfield", state) != "Springfield"


def test_state_repr_shows_no_phi() -> None:
    state = PatientState(KEY, "p1")
    replace(C.NAME, "Kowalski", state)
    assert "owalski" not in repr(state).lower() and "p1" not in repr(state)
