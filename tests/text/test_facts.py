"""Fact extraction and segmentation for the grounding check (no model needed)."""

from __future__ import annotations

import pytest

from hygeia.text.facts import (
    AFFIRMED, NEGATED, NEUTRAL, DateFact, Quantity, answer_polarity, drug_lexicon, extract_facts,
    normalize_numbers, split_sentences, split_turns, stem, term_polarities,
)


def _sentences(text: str) -> list[str]:
    return [text[s:e] for s, e in split_sentences(text)]


# --------------------------------------------------------------------------------------------- segmentation
def test_sentences_keep_clinical_abbreviations_together():
    text = "Seen by Dr. Smith today. Takes metoprolol 25 mg p.o. b.i.d. and aspirin daily. Pain is 5/10."
    assert _sentences(text) == [
        "Seen by Dr. Smith today.", "Takes metoprolol 25 mg p.o. b.i.d. and aspirin daily.", "Pain is 5/10."]


def test_sentences_split_numbered_lists_and_lines():
    text = "1.  She is on Trizivir 1 tablet p.o. b.i.d. 2.  Ibuprofen p.r.n.\nPLAN:\nFollow up in 2 weeks."
    assert _sentences(text) == [
        "1.  She is on Trizivir 1 tablet p.o. b.i.d.", "2.  Ibuprofen p.r.n.", "PLAN:", "Follow up in 2 weeks."]


def test_sentences_keep_wrapped_lines_and_split_abbreviation_before_capital():
    text = "The patient was seen\nin clinic. Tylenol 500 mg p.o. q.i.d. He also takes D&C. Nothing else."
    assert _sentences(text) == [
        "The patient was seen\nin clinic.", "Tylenol 500 mg p.o. q.i.d.", "He also takes D&C.", "Nothing else."]


def test_sentence_spans_point_into_the_text():
    text = "  No fever.  \n\n Denies chills.  "
    spans = split_sentences(text)
    assert [text[s:e] for s, e in spans] == ["No fever.", "Denies chills."]


def test_turns_of_a_dialogue_with_inline_labels():
    text = "Doctor: Any chest pain?\nPatient: No. Doctor: Any fever?\nPatient: Yes, since Monday."
    turns = split_turns(text)
    assert [(who, text[s:e]) for who, s, e in turns] == [
        ("doctor", "Any chest pain?"), ("patient", "No."), ("doctor", "Any fever?"),
        ("patient", "Yes, since Monday.")]


def test_prose_is_not_a_dialogue():
    assert split_turns("PLAN: rest. The patient was discharged home.") == []


# ------------------------------------------------------------------------------------------------- numbers
@pytest.mark.parametrize(("spoken", "written"), [
    ("I'm twenty six.", "I'm 26."),
    ("in nineteen ninety nine", "in 1999"),
    ("I take it twice a day", "I take it 2 times a day"),
    ("about a month ago", "about 1 month ago"),
])
def test_numbers_spelled_as_words_become_digits(spoken, written):
    assert normalize_numbers(spoken) == written


def test_doses_with_units_and_frequency_abbreviations():
    facts = extract_facts("Metoprolol 25 mg p.o. b.i.d. and two puffs of albuterol; Lasix 40mg daily.")
    assert Quantity(25.0, "mg", "25 mg") in facts.quantities
    assert any(q.value == 40 and q.unit == "mg" for q in facts.quantities)
    assert any(q.value == 2 and q.unit == "puff" for q in facts.quantities)
    assert {d.generic for d in facts.drugs} == {"metoprolol", "albuterol", "furosemide"}


def test_quantity_matching_needs_same_value_and_compatible_unit():
    assert Quantity(25, "mg", "").matches(Quantity(25, None, ""))
    assert not Quantity(25, "mg", "").matches(Quantity(50, "mg", ""))
    assert not Quantity(25, "mg", "").matches(Quantity(25, "mcg", ""))


def test_list_markers_are_not_quantities():
    assert extract_facts("2.  Ibuprofen p.r.n.").quantities == ()


# --------------------------------------------------------------------------------------------------- dates
def test_dates_written_and_spoken_agree():
    written = extract_facts("Initial exam on 01/10/09.").dates
    spoken = extract_facts("I saw Doctor X on January tenth two thousand nine.").dates
    assert written[0] == DateFact(2009, 1, 10, "01/10/09")
    assert written[0].matches(spoken[0])
    assert not written[0].matches(DateFact(2009, 2, 10, ""))


def test_partial_dates_and_things_that_are_not_dates():
    assert extract_facts("She gave birth in August 2008.").dates[0] == DateFact(2008, 8, None, "August 2008")
    assert extract_facts("Strength 5/5, pain 2/10, drinks 3-5 beers.").dates == ()
    assert extract_facts("She may go home.").dates == ()


# --------------------------------------------------------------------------------------------------- drugs
def test_brands_map_to_generics_and_combinations_to_agents():
    lexicon = drug_lexicon()
    assert len(set(lexicon.values())) >= 300
    assert lexicon["lipitor"] == "atorvastatin"
    vicodin = extract_facts("OxyContin and Vicodin.").drugs
    assert [d.generic for d in vicodin] == ["oxycodone", "hydrocodone/acetaminophen"]
    assert vicodin[1].components == {"hydrocodone", "acetaminophen"}


# ---------------------------------------------------------------------------------------------- laterality
@pytest.mark.parametrize(("text", "sides"), [
    ("Pain in the left knee.", {"left"}),
    ("Status post right orchiectomy.", {"right"}),
    ("Her left-sided weakness is better.", {"left"}),
    ("It is on the back of my left thigh.", {"left"}),
    ("Bilateral cataract surgery.", {"bilateral"}),
    ("Call me right away, all right?", set()),
    ("She left the hospital yesterday.", set()),
    ("No weakness on the right side.", set()),  # negated: not a stated side
])
def test_laterality(text, sides):
    assert extract_facts(text).sides == sides


# ------------------------------------------------------------------------------------------------ negation
def test_negation_scope_ends_at_a_terminator():
    assert term_polarities("Denies fever or chills but has a cough.") == [
        ("fever", NEGATED), ("chill", NEGATED), ("cough", AFFIRMED)]


def test_negation_scope_covers_a_list_and_not_the_next_sentence():
    facts = extract_facts("No lip or tongue swelling. Notes itchy rash.")
    assert {stem("lips"), stem("tongue"), stem("swelling")} <= facts.negated
    assert "rash" in facts.affirmed and "rash" not in facts.negated
    assert stem("wheezing") == stem("wheeze") and stem("rashes") == stem("rash")


def test_post_negation_and_uncertainty():
    assert term_polarities("Fracture was ruled out.") == [(stem("fracture"), NEGATED)]
    assert ("allegra", NEUTRAL) in term_polarities("He is not sure the Allegra is working.")


def test_question_takes_the_polarity_of_its_answer():
    assert answer_polarity("No, not really.") == NEGATED
    assert answer_polarity("Yes, a lot actually.") == AFFIRMED
    assert answer_polarity("About a day ago.") == NEUTRAL
    question = "Have you had any wheezing?"
    assert term_polarities(question) == [("wheez", NEUTRAL)]
    assert term_polarities(question, NEGATED) == [("wheez", NEGATED)]
    assert term_polarities(question, AFFIRMED) == [("wheez", AFFIRMED)]
    # only the question proper is answered: the clause before it is a statement
    mixed = dict(term_polarities("Before I treat your eczema, are you allergic to any drugs?", NEGATED))
    assert mixed["eczema"] == AFFIRMED and mixed["allergic"] == NEGATED
