"""Identifier columns of ACTG 175 in the released table: fresh surrogates in place, or nothing."""

from __future__ import annotations

import pandas as pd
import pytest

from hygeia.data.dataset import Dataset
from hygeia.errors import DataError, HygeiaError
from hygeia.privacy import IdentifierAction, apply_identifier_plan, plan_identifiers


@pytest.fixture(scope="module")
def with_notes(actg175) -> Dataset:
    frame = actg175.frame.copy()
    frame["clinic_note"] = [f"Patient {p} seen at week 20; CD4 {c}, tolerating therapy, no new complaints today."
                            for p, c in zip(frame["pidnum"], frame["cd420"])]
    return Dataset.from_frame(frame)


@pytest.fixture(scope="module")
def synthetic(actg175) -> pd.DataFrame:
    # Stand-in for generator output: modelled columns only, shuffled, with a non-default index.
    return actg175.modelled_frame().sample(500, random_state=0)


def test_plan_on_actg175(with_notes):
    plan = {a.column: a for a in plan_identifiers(with_notes.schema)}
    assert set(plan) == {"Unnamed: 0", "pidnum", "clinic_note"}
    assert plan["pidnum"].action == "surrogate" and "pidnum" in plan["pidnum"].reason
    assert plan["clinic_note"].action == "dropped" and plan["clinic_note"].kind == "text"
    assert set(plan["pidnum"].to_dict()) == {"column", "kind", "action", "reason"}


def test_drop_mode_drops_everything(with_notes):
    assert {a.action for a in plan_identifiers(with_notes.schema, mode="drop")} == {"dropped"}


def test_invalid_mode(actg175):
    with pytest.raises(HygeiaError, match="surrogate"):
        plan_identifiers(actg175.schema, mode="hash")


def test_surrogates_in_place_unique_and_unrelated(actg175, with_notes, synthetic):
    plan = plan_identifiers(with_notes.schema)
    out = apply_identifier_plan(synthetic, plan, with_notes.schema.names, seed=0)
    assert list(out.columns) == actg175.schema.names  # notes dropped, ids back at positions 0 and 1
    assert len(out) == len(synthetic) and list(out.index) == list(range(len(synthetic)))
    for name in ("Unnamed: 0", "pidnum"):
        values = out[name]
        assert values.is_unique and values.str.fullmatch(r"SYN-[0-9a-f]{12}").all()
        assert not set(values) & set(actg175.frame[name].astype(str))
    assert not set(out["pidnum"]) & set(out["Unnamed: 0"])
    pd.testing.assert_frame_equal(out[synthetic.columns], synthetic.reset_index(drop=True))


def test_seeded_surrogates_are_reproducible(actg175, synthetic):
    plan = plan_identifiers(actg175.schema)
    first = apply_identifier_plan(synthetic, plan, actg175.schema.names, seed=3)
    again = apply_identifier_plan(synthetic, plan, actg175.schema.names, seed=3)
    other = apply_identifier_plan(synthetic, plan, actg175.schema.names, seed=4)
    pd.testing.assert_frame_equal(first, again)
    assert not set(first["pidnum"]) & set(other["pidnum"])


def test_dropped_columns_are_absent(actg175, synthetic):
    out = apply_identifier_plan(synthetic, plan_identifiers(actg175.schema, "drop"), actg175.schema.names, seed=0)
    assert list(out.columns) == actg175.schema.modelled


def test_missing_modelled_column_is_an_error(actg175, synthetic):
    with pytest.raises(DataError, match="'cd40'"):
        apply_identifier_plan(synthetic.drop(columns="cd40"), plan_identifiers(actg175.schema),
                              actg175.schema.names, seed=0)


def test_hand_made_plan_on_an_unknown_column_order(synthetic):
    plan = [IdentifierAction("mrn", "identifier", "surrogate", "test")]
    out = apply_identifier_plan(synthetic, plan, ["age", "mrn"], seed=0)
    assert list(out.columns[:2]) == ["age", "mrn"] and list(out.columns[2:]) == [c for c in synthetic if c != "age"]
