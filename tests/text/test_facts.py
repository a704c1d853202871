"""Fact extraction and segmentation for the grounding check (no model needed)."""

from __future__ import annotations

import pytest

from hygeia.text.facts import (
    AFFIRMED, NEGATED, NEUTRAL, DateFact, Quantity, answer_polarity, asks_question, drug_lexicon, extract_facts,
    is_site_term, normalize_numbers, split_sentences, split_turns, stem, term_polarities,
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


def test_negation_scope_reaches_the_end_of_a_long_list():
    facts = extract_facts("Denies fever, chills, night sweats, weight loss, nausea, vomiting or abdominal pain.")
    assert {"fever", "nausea", "vomit", "abdominal"} <= facts.negated and not facts.affirmed
    facts = extract_facts("Reports fever, chills, night sweats, weight loss, nausea, vomiting or abdominal pain.")
    assert {"fever", "nausea", "vomit", "abdominal"} <= facts.affirmed and not facts.negated


def test_one_word_negations():
    assert "concept:fever" in extract_facts("Afebrile.").negated
    assert "concept:fever" in extract_facts("Febrile.").affirmed
    assert "concept:tobacco" in extract_facts("He is a nonsmoker.").negated
    assert "concept:tobacco" in extract_facts("He is a smoker.").affirmed


def test_zero_padded_month_year_is_a_date_and_scores_are_not():
    facts = extract_facts("Biopsy (9/03), surgeries in 07/06.")
    assert [(d.year, d.month, d.day) for d in facts.dates] == [(2003, 9, None), (2006, 7, None)]
    assert facts.quantities == ()
    facts = extract_facts("Pain 2/10, strength 5/5.")
    assert facts.dates == () and [q.value for q in facts.quantities] == [2, 10, 5, 5]


def test_lone_one_zero_and_ordinals_are_not_quantities():
    assert extract_facts("One brother died; pain 9 on a 0 to 10 scale; a second opinion.").quantities == (
        Quantity(9.0, None, "9"), Quantity(10.0, None, "10"))
    assert [q.value for q in extract_facts("1 month ago, 1 mg, 1.5 tablets").quantities] == [1, 1, 1.5]


def _polarity(text: str, answer: int | None = None) -> dict[str, int]:
    return dict(term_polarities(text, answer))


def test_negative_before_a_finding_negates_it():
    assert _polarity("Negative tinnitus, negative vertigo.") == {"tinnitus": NEGATED, "vertigo": NEGATED}
    assert _polarity("Tinnitus, vertigo.") == {"tinnitus": AFFIRMED, "vertigo": AFFIRMED}


def test_a_comma_before_a_new_subject_ends_the_negation():
    assert _polarity("No one figured it out, they said it was hereditary.")["hereditary"] == AFFIRMED
    assert _polarity("No one figured it out or said it was hereditary.")["hereditary"] == NEGATED


def test_an_aside_right_after_the_trigger_does_not_end_the_scope():
    assert _polarity("He denies, however, any bowel or bladder problems.")["bowel"] == NEGATED
    assert _polarity("He denies fever, however, bowel problems persist.")["bowel"] == AFFIRMED


def test_a_pseudo_negation_or_a_new_verb_ends_the_scope():
    assert _polarity("No pain and no problem emptying my bladder.")["bladder"] == AFFIRMED
    assert _polarity("No pain and trouble emptying my bladder.")["bladder"] == NEGATED
    assert _polarity("No alcohol abuse and does drink at present.")["drink"] == AFFIRMED
    assert _polarity("No alcohol abuse and drinking at present.")["drink"] == NEGATED


def test_questions_without_a_question_mark():
    assert asks_question("Have you had any bowel or bladder trouble.") and asks_question("What about surgery.")
    assert not asks_question("Have been tired lately.") and not asks_question("The pain is bad.")
    assert _polarity("Have you had any bladder trouble.", NEGATED)["bladder"] == NEGATED
    assert _polarity("What about surgery.", NEGATED)["surgery"] == NEGATED
    assert _polarity("And how about alcohol, do you drink?", NEGATED)["alcohol"] == NEGATED
    assert _polarity("Before I prescribe for your eczema, do you drink?", NEGATED)["eczema"] == AFFIRMED


def test_which_answers_settle_a_question():
    # a wh-question is not settled by "No" / "I don't know"
    assert _polarity("Which condition led to the disability?", NEGATED)["disability"] == NEUTRAL
    assert _polarity("Are you on disability?", NEGATED)["disability"] == NEGATED
    # a "No" to "any other ..." leaves the thing already named
    assert _polarity("Any other pain from the fall?", NEGATED)["pain"] == NEUTRAL
    assert _polarity("Any pain from the fall?", NEGATED)["pain"] == NEGATED
    # a "No" to "do you need / remember ..." denies the needing, not the thing
    assert _polarity("Do you need anything for the cough?", NEGATED)["cough"] == NEUTRAL
    assert _polarity("Do you have a cough?", NEGATED)["cough"] == NEGATED


def test_answers_after_fillers_and_yes_that_denies():
    assert answer_polarity("Um no, she's divorced.") == NEGATED
    assert answer_polarity("I have never been a drug user.") == NEGATED
    assert answer_polarity("Yeah, no problems there.") == NEUTRAL
    assert answer_polarity("Yeah, I have it every day.") == AFFIRMED


def test_body_sites_and_frame_words_are_not_findings():
    assert is_site_term(stem("head")) and is_site_term(stem("trouble")) and is_site_term(stem("knees"))
    assert not is_site_term(stem("deformity")) and not is_site_term(stem("syncope"))


def test_decades_and_month_year_dates():
    assert [q.value for q in extract_facts("Died in their eighties.").quantities] == [80]
    assert [q.value for q in extract_facts("Died in their 80's.").quantities] == [80]
    assert [(d.year, d.month) for d in extract_facts("Admitted 07/2007.").dates] == [(2007, 7)]
    assert [(d.year, d.month) for d in extract_facts("Admitted 12/2008.").dates] == [(2008, 12)]


def test_a_digit_one_is_a_count_but_a_spelled_one_is_not():
    assert [q.value for q in extract_facts("Married with 1 child.").quantities] == [1]
    assert extract_facts("Married with one child.").quantities == ()


def test_each_side_word_is_tied_to_the_terms_next_to_it():
    from hygeia.text.facts import is_body_part

    anchors = dict(extract_facts("Left knee swelling and pain; right shoulder aches.").side_anchors)
    assert {"knee", "pain"} <= anchors["left"] and "shoulder" in anchors["right"]
    assert "knee" not in anchors["right"]  # the window stops at the next side word
    assert extract_facts("She left the clinic right away.").side_anchors == ()
    assert is_body_part("knee") and not is_body_part("pain")
