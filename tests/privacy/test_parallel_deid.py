"""Detection split over worker processes finds exactly what one process finds, in the same order."""

from __future__ import annotations

from hygeia.privacy.deid import detect_phi_batch
from hygeia.privacy.deid.analyzer import MIN_PER_WORKER
from hygeia.privacy.deid_eval import load_corpus


def test_two_workers_match_one_process() -> None:
    notes = [n.text for n in load_corpus("dev")]
    assert len(notes) >= 2 * MIN_PER_WORKER  # large enough to be split for real
    assert detect_phi_batch(notes, workers=2) == detect_phi_batch(notes)


def test_a_small_batch_stays_in_process() -> None:
    assert detect_phi_batch(["Seen by Dr. Kowalski on 8/14."], workers=4) == \
        detect_phi_batch(["Seen by Dr. Kowalski on 8/14."])
