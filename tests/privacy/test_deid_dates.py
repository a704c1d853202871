"""Dates: every written form found, scores and bare years left alone, shifts keep the form."""

from __future__ import annotations

import datetime as dt

import pytest

from hygeia.privacy.deid.dates import find_dates, shift_date


def found(text: str) -> list[str]:
    return [text[a:b] for a, b in find_dates(text)]


@pytest.mark.parametrize("text, expected", [
    ("Seen on 8/14 and again 14-Aug.", ["8/14", "14-Aug"]),
    ("Admitted August 14th, 2089; discharged 2/3/2089.", ["August 14th, 2089", "2/3/2089"]),
    ("Echo 2089-02-03T10:00 unchanged", ["2089-02-03"]),
    ("Seen Aug. 3, 2089, AUG 14 2089, 14 August 2089 and 14AUG2089", ["Aug. 3, 2089", "AUG 14 2089", "14 August 2089",
                                                                     "14AUG2089"]),
    ("Last colonoscopy in 08/2089, prior 12/31/89, then 1.2.2089", ["08/2089", "12/31/89", "1.2.2089"]),
    ("Surgery planned for the 14th of August", ["14th of August"]),
    ("Returns Monday after Christmas, again in September", ["Christmas", "September"]),
])
def test_date_forms_are_found(text: str, expected: list[str]) -> None:
    assert [f.rstrip(".") for f in found(text)] == expected


@pytest.mark.parametrize("text", [
    "Strength 5/5 in all extremities, 4/5 left grip.",
    "Pain 7/10, improved to 3/10.",
    "BP 120/80, HR 72.",
    "Take 1/2 tab at night; 2/6 systolic murmur.",
    "Seen yesterday and the day before; smoker since 1998; in 2089 she moved.",
    "You may 5 times a day",
    "Na 138, K 4.1, ratio 1/3, Hgb 12.5/36.1",
])
def test_scores_years_and_relative_words_are_not_dates(text: str) -> None:
    assert found(text) == []


def test_month_day_with_a_date_cue_is_a_date_even_with_small_numbers() -> None:
    assert found("follow up on 3/4 in clinic") == ["3/4"]


@pytest.mark.parametrize("original, days, expected", [
    ("8/14", 40, "9/23"),
    ("14-Aug", -34, "11-Jul"),
    ("AUG 14 2089", 40, "SEP 23 2089"),
    ("August 14th, 2089", 3, "August 17th, 2089"),
    ("14th of August", 9, "23rd of August"),
    ("02/03/89", 40, "03/15/89"),
    ("2089-12-31", 1, "2090-01-01"),
    ("1987-11-19", -200, "1987-05-03"),
    ("08/2089", 31, "09/2089"),
    ("12/31/89", 40, "2/9/90"),
])
def test_shift_keeps_the_form(original: str, days: int, expected: str) -> None:
    assert shift_date(original, days) == expected


def test_shift_preserves_intervals_between_two_dates() -> None:
    a, b = shift_date("3/1/2089", -123), shift_date("4/15/2089", -123)
    da, db = (dt.datetime.strptime(x, "%m/%d/%Y").date() for x in (a, b))
    assert (db - da).days == 45


def test_a_month_alone_has_no_day_to_shift() -> None:
    assert shift_date("September", 5) is None
