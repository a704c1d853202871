"""Differential privacy end to end on ACTG 175: an ε sweep of private copulas through gate, review, release.

The table is ACTG 175 cut to 14 of its columns (baseline, labs with a point mass and gaps,
outcome), which keeps two full candidates affordable in the test suite. The policy is Hygeia's
default one plus ``max_epsilon: 20``. The ε = 20 candidate must pass it, the ε = 1 one must fail
on measured quality (not on its budget), the same numbers without a guarantee must be refused,
and the budget must be visible in the ledger, the report and the model card of the release.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from hygeia.data.dataset import Dataset
from hygeia.errors import GeneratorError, HygeiaError
from hygeia.evaluate.metric import Scorecard
from hygeia.governance.artifact import Artifact
from hygeia.governance.gate import Gate
from hygeia.governance.ledger import Ledger
from hygeia.governance.policy import Policy, load_policy
from hygeia.governance.release import release_artifact
from hygeia.governance.review import ReviewQueue
from hygeia.governance.synthesize import SynthesisResult, build_generator, generators_with, synthesize_sweep
from hygeia.privacy.dp import default_delta
from hygeia.store import Store

EPSILONS = [1.0, 20.0]
COLUMNS = ["age", "wtkg", "karnof", "preanti", "race", "gender", "symptom", "treat", "cd40", "cd420", "cd496", "r",
           "cens", "days"]


@pytest.fixture(scope="module")
def table(actg175: Dataset) -> Dataset:
    return actg175.replace_frame(actg175.frame[COLUMNS])


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_policy("default").model_copy(update={"max_epsilon": 20.0})


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Store:
    return Store(f"sqlite:///{tmp_path_factory.mktemp('store') / 'h.db'}")


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("sweep") / "out"


@pytest.fixture(scope="module")
def sweep(table: Dataset, policy: Policy, store: Store, folder: Path) -> list[SynthesisResult]:
    steps: list[str] = []
    # A fixed noise seed keeps the test repeatable; real private fits draw their noise from the OS.
    results = synthesize_sweep(table, EPSILONS, policy=policy, out_dir=folder, store=store, seed=0,
                               params={"noise_seed": 0}, on_step=steps.append)
    assert sum(s.startswith("data-quality") for s in steps) == 1  # one split shared by every candidate
    assert [s for s in steps if s.startswith("fitting")] == [
        "fitting gaussian_copula with ε = 1 on 1,497 rows", "fitting gaussian_copula with ε = 20 on 1,497 rows"]
    return results


def test_one_candidate_per_epsilon_each_queued_for_review(sweep, folder: Path, store: Store) -> None:
    assert [r.out_dir for r in sweep] == [folder / "epsilon-1", folder / "epsilon-20"]
    queued = {a.id: a for a in ReviewQueue(store).list("candidate")}
    for result, epsilon in zip(sweep, EPSILONS, strict=True):
        assert result.artifact_id in queued
        assert json.loads((result.out_dir / "CANDIDATE.json").read_text())["status"].startswith("UNRELEASED")
        assert result.privacy["epsilon_requested"] == result.privacy["epsilon_spent"] == epsilon
        assert result.privacy["delta_spent"] == default_delta(1497)


def test_gate_judges_quality_and_budget(sweep) -> None:
    weak, strong = sweep
    assert strong.verdict.passed, strong.verdict.reasons
    assert not weak.verdict.passed
    assert weak.verdict.reasons and not any("epsilon" in r for r in weak.verdict.reasons)
    assert weak.headline["fidelity.overall"] < strong.headline["fidelity.overall"]


def test_the_same_numbers_without_a_guarantee_are_refused(sweep, policy: Policy, store: Store) -> None:
    strong = sweep[1]
    record = store.get_artifact(strong.artifact_id).record
    plain = Artifact(id="tab-plain", kind="synthetic_table", provenance=record["provenance"],
                     findings=record["findings"], privacy_spent=None)
    verdict = Gate(policy).check(plain, Scorecard.from_dict(record["scorecard"]))
    assert verdict.reasons == ["the policy requires differential privacy (epsilon <= 20) but the generator "
                               "'gaussian_copula' is not differentially private"]
    over = Gate(policy.model_copy(update={"max_epsilon": 10.0})).check(
        Artifact(id="tab-over", kind="synthetic_table", provenance=record["provenance"],
                 findings=record["findings"], privacy_spent={"epsilon": 20.0, "delta": 1e-5}),
        Scorecard.from_dict(record["scorecard"]))
    assert over.reasons == ["privacy budget spent epsilon = 20 exceeds the policy's 10"]


def test_ledger_records_the_budget_of_each_fit(sweep, store: Store) -> None:
    for result, epsilon in zip(sweep, EPSILONS, strict=True):
        fit = next(e for e in Ledger(store).entries(result.artifact_id) if e.event == "fit")
        payload = fit.content["payload"]
        assert payload["privacy_spent"] == {"epsilon": epsilon, "delta": default_delta(1497)}
        assert payload["differential_privacy"]["mechanism"].startswith("Laplace-noised histograms")
        assert payload["parameters"]["epsilon"] == epsilon
    assert Ledger(store).verify().ok


def test_every_report_shows_the_budget_and_the_sweep(sweep) -> None:
    ids = [r.artifact_id for r in sweep]
    for result in sweep:
        html = (result.out_dir / "report.html").read_text(encoding="utf-8")
        section = html[html.index('id="differential-privacy"'):html.index('id="subgroups"')]
        assert "Treated as public" in section and "Analyze Gauss" in section
        assert all(i in section for i in ids)  # the sweep table lists every candidate
        assert re.search(r'<img src="data:image/png;base64,[^"]+" alt="Line chart of fidelity', section)
        assert (result.out_dir / "figures" / "epsilon_sweep.png").stat().st_size > 5_000
        epsilon = f"{result.privacy['epsilon_spent']:g}"
        assert f'<td class="num">{epsilon}</td><td class="num">{epsilon}</td>' in section  # spent vs requested


def test_release_carries_epsilon_and_delta_into_the_model_card(sweep, store: Store, tmp_path) -> None:
    strong = sweep[1]
    ReviewQueue(store).decide(strong.artifact_id, "approve", reviewer="dr.lee", role="data steward")
    out = release_artifact(store, strong.artifact_id, tmp_path / "release")
    card = json.loads((out / "model_card.json").read_text())
    dp = card["generation"]["differential_privacy"]
    assert dp["epsilon_spent"] == 20.0 and dp["delta_spent"] == default_delta(1497)
    assert [row["epsilon"] for row in card["generation"]["epsilon_sweep"]] == EPSILONS
    text = (out / "model_card.md").read_text()
    assert f"- Differential privacy: ε = 20, δ = {default_delta(1497):.4g} spent (requested ε = 20" in text
    assert "Treated as public under DP" in text
    assert not any("no formal" in r for r in card["limits"]["known_risks"])
    html = (out / "report.html").read_text(encoding="utf-8")
    assert 'id="differential-privacy"' in html and 'alt="Line chart of fidelity' in html


def test_bad_sweeps_and_parameters_are_refused_before_any_work(table: Dataset, policy: Policy, store: Store,
                                                               tmp_path) -> None:
    before = Ledger(store).head()
    cases = [
        (dict(epsilons=[]), "at least one epsilon"),
        (dict(epsilons=[1, 0]), "> 0"),
        (dict(epsilons=[3, 3.0]), "repeat"),
        (dict(epsilons=[1, 3], params={"epsilon": 2}), "not also as the parameter"),
        (dict(epsilons=[1, 3], generator="independent_marginals"), "not differentially private"),
    ]
    for kwargs, words in cases:
        with pytest.raises(HygeiaError, match=words):
            synthesize_sweep(table, kwargs.pop("epsilons"), policy=policy, out_dir=tmp_path / "x", store=store,
                             **kwargs)
    assert Ledger(store).head() == before and not (tmp_path / "x").exists()


def test_build_generator_names_the_fix() -> None:
    assert "gaussian_copula" in generators_with("epsilon")
    assert "independent_marginals" not in generators_with("epsilon")
    with pytest.raises(GeneratorError, match="generators that take an epsilon: .*gaussian_copula"):
        build_generator("independent_marginals", {"epsilon": 3})
    with pytest.raises(GeneratorError, match="no training time budget"):
        build_generator("gaussian_copula", {"max_time": 60})
    with pytest.raises(GeneratorError, match="did you mean 'sweeps'"):
        build_generator("gaussian_copula", {"sweep": 3})
    assert build_generator("gaussian_copula", {"epsilon": 2.5, "shrinkage": 0.1}).get_params()["epsilon"] == 2.5
