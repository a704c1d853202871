"""Review queue: decisions need a name (and a reason to reject), are final, and land in the ledger."""

from __future__ import annotations

import pytest

from hygeia.errors import NotFoundError, ReviewError
from hygeia.governance.ledger import Ledger
from hygeia.governance.review import ReviewQueue
from hygeia.store.db import ArtifactRecord, Store, now_iso


@pytest.fixture
def queue(store_url: str) -> ReviewQueue:
    store = Store(store_url)
    with store.begin() as conn:
        for i, passed in enumerate([True, False]):
            store.insert_artifact(conn, ArtifactRecord(
                id=f"tab-20261123-{i:08x}", kind="synthetic_table", status="candidate", created_at=now_iso(),
                location="/nowhere", gate_passed=passed, record={"files": {"synthetic.csv": "ab" * 32}}))
    return ReviewQueue(store)


def test_approve_records_review_status_and_ledger(queue: ReviewQueue) -> None:
    review = queue.decide("tab-20261123-00000000", "approve", reviewer="dr.lee", role="data steward",
                          comment="subgroup bars checked")
    artifact, reviews = queue.show("tab-20261123-00000000")
    assert artifact.status == "approved" and reviews == [review]
    entry = Ledger(queue.store).entries(artifact.id)[-1]
    assert entry.event == "review"
    assert entry.content["actor"] == "dr.lee" and entry.content["payload"]["decision"] == "approve"
    assert entry.content["payload"]["synthetic_sha256"] == "ab" * 32
    assert [a.id for a in queue.list("candidate")] == ["tab-20261123-00000001"]


def test_rejection_needs_a_reason_and_is_final(queue: ReviewQueue) -> None:
    with pytest.raises(ReviewError, match="reason"):
        queue.decide("tab-20261123-00000001", "reject", reviewer="dr.lee")
    queue.decide("tab-20261123-00000001", "reject", reviewer="dr.lee", comment="race subgroup distorted")
    with pytest.raises(ReviewError, match="already rejected by dr.lee"):
        queue.decide("tab-20261123-00000001", "approve", reviewer="dr.kim")
    assert len(Ledger(queue.store).entries("tab-20261123-00000001")) == 1


def test_reviewer_name_and_decision_are_checked(queue: ReviewQueue) -> None:
    with pytest.raises(ReviewError, match="--reviewer"):
        queue.decide("tab-20261123-00000000", "approve", reviewer="  ")
    with pytest.raises(ReviewError, match="unknown decision"):
        queue.decide("tab-20261123-00000000", "maybe", reviewer="dr.lee")
    with pytest.raises(NotFoundError):
        queue.decide("tab-nope", "approve", reviewer="dr.lee")
    assert Ledger(queue.store).entries() == []


def test_unambiguous_id_prefix_is_accepted(queue: ReviewQueue) -> None:
    artifact, _ = queue.show("tab-20261123-00000001")
    assert queue.store.get_artifact("tab-20261123-00000001"[:-1] + "1").id == artifact.id
    with pytest.raises(NotFoundError):
        queue.store.get_artifact("tab-2026")  # ambiguous: two artifacts share it


def test_reviewers_deciding_at_once_cannot_both_win(queue: ReviewQueue) -> None:
    """Eight reviewers post at the same moment (the load benchmark found this race): one decision stands."""
    import threading

    start = threading.Barrier(8)
    outcomes: list[str] = []

    def decide(i: int) -> None:
        mine = ReviewQueue(Store(queue.store.url))  # its own connections, as two server requests have
        start.wait()
        try:
            mine.decide("tab-20261123-00000000", "approve" if i % 2 else "reject", reviewer=f"dr.{i}", comment="x")
            outcomes.append("won")
        except ReviewError as exc:
            assert "already" in str(exc)
            outcomes.append("refused")

    threads = [threading.Thread(target=decide, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(outcomes) == ["refused"] * 7 + ["won"]
    artifact, reviews = queue.show("tab-20261123-00000000")
    assert len(reviews) == 1 and artifact.status == {"approve": "approved", "reject": "rejected"}[reviews[0].decision]
    assert [e.event for e in Ledger(queue.store).entries(artifact.id)] == ["review"]
    assert Ledger(queue.store).verify().ok
