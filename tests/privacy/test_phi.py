"""The span and result types shared by PHI detection, replacement and evaluation."""

from __future__ import annotations

import pytest

from hygeia.privacy import DeidResult, PhiCategory, PhiSpan


def test_spans_keep_the_phi_out_of_their_repr() -> None:
    span = PhiSpan(8, 18, PhiCategory.NAME, "John Smith", source="titles")
    assert "John" not in repr(span) and span.text == "John Smith"
    assert span == PhiSpan(8, 18, PhiCategory.NAME, "someone else", source="titles")  # text is not identity


@pytest.mark.parametrize("start, end", [(5, 5), (6, 5), (-1, 3)])
def test_empty_or_negative_spans_are_refused(start: int, end: int) -> None:
    with pytest.raises(ValueError, match="start < end"):
        PhiSpan(start, end, PhiCategory.DATE)


def test_overlap_is_about_shared_characters() -> None:
    a = PhiSpan(0, 5, PhiCategory.NAME)
    assert a.overlaps(PhiSpan(4, 9, PhiCategory.DATE)) and not a.overlaps(PhiSpan(5, 9, PhiCategory.DATE))


def test_result_counts_categories_and_reidentifies_only_for_the_reviewer() -> None:
    original = "Ann Lee seen 8/14 by Dr Annesley."
    result = DeidResult("Kim Ray seen 9/2 by Dr Kimball.",
                        (PhiSpan(0, 7, PhiCategory.NAME, "Ann Lee"), PhiSpan(13, 17, PhiCategory.DATE, "8/14"),
                         PhiSpan(24, 32, PhiCategory.NAME, "Annesley")),
                        {"Kim Ray": "Ann Lee", "9/2": "8/14", "Kimball": "Annesley"}, patient="p1")
    assert result.counts() == {"DATE": 1, "NAME": 2}
    assert "Ann" not in repr(result)
    assert result.reidentify(result.text) == original
