"""The `hygeia` command end to end: synth -> review -> release on real data, and bad input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from hygeia.cli import main
from hygeia.data.demo import DEMO_TABLES
from hygeia.governance.ledger import Ledger
from hygeia.release.export import verify_manifest
from hygeia.store import Store



@pytest.fixture
def actg_csv(tmp_path) -> Path:
    path = tmp_path / "actg175.csv"
    shutil.copy(DEMO_TABLES["actg175"].path(), path)
    return path


def _artifact_id(stdout: str) -> str:
    return next(w for w in stdout.split() if w.startswith("tab-"))


def test_synth_review_release_path(hygeia_env, actg_csv, run) -> None:
    optout = hygeia_env / "optout.txt"
    ids = pd.read_csv(actg_csv)["pidnum"].head(100)
    optout.write_text("\n".join(map(str, ids)) + "\n")
    code, out, err = run("synth", actg_csv, "--policy", "demo", "--opt-out", optout, "--out", "cand",
                         "--seed", "3")
    assert code == 0, out + err
    artifact = _artifact_id(out)
    candidate = hygeia_env / "cand"
    assert json.loads((candidate / "CANDIDATE.json").read_text())["status"].startswith("UNRELEASED")
    synthetic = pd.read_csv(candidate / "synthetic.csv")
    assert len(synthetic) == 2139 - 100
    assert not set(synthetic["pidnum"].astype(str)) & set(ids.astype(str))  # surrogates, never real ids

    code, out, _ = run("review", "list")
    assert artifact in out and "candidate" in out
    code, out, _ = run("review", "show", artifact)
    assert code == 0 and "gate: PASSED" in out and "privacy.mia_auc" in out and "report.html" in out
    code, _, err = run("release", artifact, "--out", "rel")
    assert code == 2 and "has not been approved" in err and not (hygeia_env / "rel").exists()
    code, _, err = run("review", "reject", artifact, "--reviewer", "dr.lee")
    assert code == 2 and "--comment" in err

    code, out, _ = run("review", "approve", artifact, "--reviewer", "dr.lee", "--role", "data steward")
    assert code == 0
    code, out, err = run("release", artifact, "--out", "rel")
    assert code == 0, err
    release = hygeia_env / "rel"
    names = {p.name for p in release.iterdir()}
    assert {"synthetic.csv", "synthetic.parquet", "report.html", "model_card.md", "model_card.json",
            "manifest.json"} <= names
    assert verify_manifest(release) == []
    card = json.loads((release / "model_card.json").read_text())
    assert card["data_lineage"]["opt_out_removed"] == 100
    assert card["human_oversight"][0]["reviewer"] == "dr.lee"
    assert card["identity"]["artifact_id"] == artifact
    assert card["generation"]["differential_privacy"] is None
    assert any("no formal (differential) privacy guarantee" in r for r in card["limits"]["known_risks"])
    assert "- Differential privacy: none" in (release / "model_card.md").read_text()

    store = Store()
    events = [e.event for e in Ledger(store).entries(artifact)]
    assert events == ["ingest", "consent", "quality", "fit", "sample", "evaluate", "gate", "review", "release"]
    consent = next(e for e in Ledger(store).entries(artifact) if e.event == "consent")
    assert consent.content["payload"]["opt_out_removed"] == 100
    code, out, _ = run("ledger", "verify")
    assert code == 0 and "intact" in out
    code, out, _ = run("ledger", "checkpoint", "--out", "cp.json")
    assert code == 0 and json.loads((hygeia_env / "cp.json").read_text())["size"] == len(Ledger(store).entries())
    code, out, _ = run("ledger", "verify", "--checkpoint", "cp.json")
    assert code == 0 and "2 signed checkpoint" in out  # the stored one and the copy


def test_gate_failure_exits_3_and_blocks_release(hygeia_env, actg_csv, run) -> None:
    strict = hygeia_env / "strict.yaml"
    strict.write_text("target: cens\nthresholds: {fidelity.overall: 0.999}\n")
    code, out, _ = run("synth", actg_csv, "--policy", strict, "--out", "cand")
    assert code == 3 and "fidelity.overall" in out
    artifact = _artifact_id(out)
    assert run("review", "approve", artifact, "--reviewer", "dr.lee")[0] == 0
    code, _, err = run("release", artifact, "--out", "rel")
    assert code == 2 and "failed the gate" in err and not (hygeia_env / "rel").exists()


def test_edited_candidate_cannot_be_released(hygeia_env, actg_csv, run) -> None:
    code, out, _ = run("synth", actg_csv, "--policy", "demo", "--out", "cand")
    artifact = _artifact_id(out)
    run("review", "approve", artifact, "--reviewer", "dr.lee")
    with open(hygeia_env / "cand" / "synthetic.csv", "a") as fh:
        fh.write(fh.name and "1,2,3\n")
    code, _, err = run("release", artifact, "--out", "rel")
    assert code == 2 and "changed after the gate" in err and not (hygeia_env / "rel").exists()


def test_ledger_verify_names_a_tampered_entry(hygeia_env, run) -> None:
    ledger = Ledger(Store())
    for i in range(4):
        ledger.append("ingest", {"i": i}, actor="t")
    from sqlalchemy import text

    with ledger.store.engine.begin() as conn:
        conn.execute(text("UPDATE ledger SET body = replace(body, 'ingest', 'ingesT') WHERE seq = 2"))
    code, _, err = run("ledger", "verify")
    assert code == 4 and "entry 2" in err


# -- bad input: one line, non-zero, nothing written, nothing stored harmed ----------------------------
@pytest.fixture
def sqlite_env(tmp_path, monkeypatch):
    monkeypatch.setenv("HYGEIA_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("HYGEIA_DATABASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    ledger = Ledger(Store())
    for i in range(3):
        ledger.append("ingest", {"i": i}, actor="t")
    return tmp_path


def _real_frame() -> pd.DataFrame:
    return pd.read_csv(DEMO_TABLES["actg175"].path())


BAD_INPUTS = {
    "missing file": (lambda p: p / "absent.csv", [], "not found"),
    "empty file": (lambda p: _write(p / "e.csv", b""), [], "empty"),
    "binary file": (lambda p: _write(p / "b.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256))), [], "binary"),
    "header only": (lambda p: _write(p / "h.csv", b"age,sex,cd4\n"), [], "no data rows"),
    "one row": (lambda p: _frame(p / "one.csv", _real_frame().head(1)), [], "row"),
    "all-missing column": (lambda p: _frame(p / "m.csv", _real_frame().assign(lab=float("nan"))), [], "'lab' has no values"),
    "unknown target": (lambda p: _frame(p / "t.csv", _real_frame()), ["--target", "censs"], "did you mean 'cens'"),
    "unknown sensitive": (lambda p: _frame(p / "s.csv", _real_frame()), ["--sensitive", "sex"], "sensitive column 'sex'"),
    "malformed policy": (lambda p: _frame(p / "p.csv", _real_frame()), ["--policy", "POLICY"], "unknown key"),
    "unknown generator": (lambda p: _frame(p / "g.csv", _real_frame()), ["--generator", "gann"], "unknown generator"),
    "epsilon, generator without DP": (lambda p: _frame(p / "d.csv", _real_frame()),
                                      ["--generator", "independent_marginals", "--epsilon", "3"],
                                      "generators that take an epsilon: "),
    "epsilon not a number": (lambda p: _frame(p / "d.csv", _real_frame()), ["--epsilon", "1,x"], "--epsilon takes"),
    "epsilon zero": (lambda p: _frame(p / "d.csv", _real_frame()), ["--epsilon", "0"], "a number > 0"),
    "epsilon repeated": (lambda p: _frame(p / "d.csv", _real_frame()), ["--epsilon", "3,3"], "repeat"),
    "epsilon twice": (lambda p: _frame(p / "d.csv", _real_frame()), ["--epsilon", "3", "--param", "epsilon=2"],
                      "given twice"),
    "max-time, generator without training": (lambda p: _frame(p / "d.csv", _real_frame()), ["--max-time", "60"],
                                             "no training time budget"),
    "param without value": (lambda p: _frame(p / "d.csv", _real_frame()), ["--param", "sweeps"], "KEY=VALUE"),
    "param misspelt": (lambda p: _frame(p / "d.csv", _real_frame()), ["--param", "sweep=3"], "did you mean 'sweeps'"),
}


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _frame(path: Path, frame: pd.DataFrame) -> Path:
    frame.to_csv(path, index=False)
    return path


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_is_one_clear_line_and_harms_nothing(sqlite_env, run, case: str) -> None:
    make, extra, expected = BAD_INPUTS[case]
    data = make(sqlite_env)
    (sqlite_env / "bad_policy.yaml").write_text("name: x\ntresholds: {privacy.mia_auc: 0.6}\n")
    extra = [str(sqlite_env / "bad_policy.yaml") if a == "POLICY" else a for a in extra]
    before = Ledger(Store()).head()
    code, out, err = run("synth", data, "--out", "cand", *extra)
    assert code != 0
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and expected in lines[0], err
    assert "Traceback" not in err + out
    assert not (sqlite_env / "cand").exists()
    assert not [p for p in sqlite_env.iterdir() if p.name.startswith(".hygeia-")]
    assert Ledger(Store()).head() == before and Ledger(Store()).verify().ok


def test_existing_output_folder_is_never_overwritten(sqlite_env, run) -> None:
    (sqlite_env / "cand").mkdir()
    (sqlite_env / "cand" / "keep.txt").write_text("mine")
    code, _, err = run("synth", _frame(sqlite_env / "d.csv", _real_frame()), "--out", "cand")
    assert code == 2 and "not empty" in err
    assert (sqlite_env / "cand" / "keep.txt").read_text() == "mine"


def test_debug_shows_the_traceback(sqlite_env, capsys) -> None:
    from hygeia.errors import DataError

    with pytest.raises(DataError):
        main(["--debug", "profile", str(sqlite_env / "absent.csv")])


def test_profile_lists_identifiers_and_findings(sqlite_env, actg_csv, run) -> None:
    code, out, _ = run("profile", actg_csv, "--target", "cens", "--json", "profile.json")
    assert code == 0 and "pidnum" in out and "not modelled" in out
    profile = json.loads((sqlite_env / "profile.json").read_text())
    assert any(f["check"] == "constant" and f["column"] == "zprior" for f in profile["findings"])


def test_help_teaches_every_command(run) -> None:
    for args in ([], ["synth"], ["evaluate"], ["review"], ["release"], ["ledger"], ["profile"], ["demo"], ["deid"],
                 ["deid", "evaluate"], ["draft"], ["review", "edit"]):
        code, out, _ = run(*args, "--help")
        assert code == 0 and "Usage" in out


def test_evaluate_scores_any_table_and_gates_it(sqlite_env, run) -> None:
    real = _real_frame().sample(frac=1.0, random_state=0).reset_index(drop=True)
    train, holdout = real.iloc[:1400], real.iloc[1400:]
    _frame(sqlite_env / "train.csv", train)
    _frame(sqlite_env / "holdout.csv", holdout.iloc[300:])
    # An honest stand-in for another tool's output: unseen real rows of the same population.
    _frame(sqlite_env / "fresh.csv", holdout.iloc[:300])
    _frame(sqlite_env / "copy.csv", train.sample(700, random_state=1))
    code, out, err = run("evaluate", "train.csv", "copy.csv", "--holdout", "holdout.csv", "--policy", "demo",
                         "--json", "copy.json")
    assert code == 3, err
    scores = json.loads((sqlite_env / "copy.json").read_text())
    by_name = {m["name"]: m for m in scores["metrics"]}
    assert by_name["privacy.exact_copy_rate"]["value"] > 0.9 and by_name["privacy.exact_copy_rate"]["passed"] is False
    assert not scores["verdict"]["passed"]

    code, out, err = run("evaluate", "train.csv", "copy.csv", "--policy", "demo")
    assert code == 3 and "not computed" in out  # no holdout: privacy cannot be measured, the gate fails closed

    code, out, err = run("evaluate", "train.csv", "fresh.csv", "--holdout", "holdout.csv", "--target", "cens",
                         "--sensitive", "gender,race", "--json", "fresh.json")
    assert code == 0, out + err
    by_name = {m["name"]: m for m in json.loads((sqlite_env / "fresh.json").read_text())["metrics"]}
    assert by_name["privacy.exact_copy_rate"]["value"] == 0.0
    assert by_name["utility.tstr_trtr_ratio"]["value"] > 0.85


def test_schema_file_overrides_kinds_and_drops_columns(sqlite_env, run) -> None:
    data = _frame(sqlite_env / "d.csv", _real_frame())
    (sqlite_env / "schema.yaml").write_text("columns:\n  karnof: integer\ndrop: [preanti, cd496]\n")
    code, out, err = run("synth", data, "--schema", "schema.yaml", "--policy", "demo", "--out", "cand")
    assert code in (0, 3), err
    synthetic = pd.read_csv(sqlite_env / "cand" / "synthetic.csv")
    assert "preanti" not in synthetic and "cd496" not in synthetic and "karnof" in synthetic
    (sqlite_env / "typo.yaml").write_text("columns:\n  karnoff: integer\n")
    code, _, err = run("synth", data, "--schema", "typo.yaml", "--out", "cand2")
    assert code == 2 and "did you mean 'karnof'" in err and len(err.strip().splitlines()) == 1


# -- differential privacy, parameters and progress --------------------------------------------------
DP_COLUMNS = ["pidnum", "age", "gender", "race", "preanti", "cd40", "cd420", "cens"]


def test_epsilon_sweep_writes_one_gated_candidate_per_epsilon(sqlite_env, run) -> None:
    hygeia_env = sqlite_env
    data = _frame(hygeia_env / "actg_small.csv", _real_frame()[DP_COLUMNS].head(800))
    code, out, err = run("synth", data, "--epsilon", "1,20", "--param", "shrinkage=0.05",
                         "--param", "delta=1e-6", "--out", "sweep")
    assert "Epsilon sweep" in out, out + err
    ids = [w for w in out.split() if w.startswith("tab-")]
    artifacts = list(dict.fromkeys(ids))
    assert len(artifacts) == 2
    assert code == (0 if "pass" in out.split("Epsilon sweep")[1] else 3)
    for epsilon, artifact in zip(["1", "20"], artifacts, strict=True):
        folder = hygeia_env / "sweep" / f"epsilon-{epsilon}"
        assert (folder / "figures" / "epsilon_sweep.png").is_file()
        assert f"ε = {epsilon}: report sweep/epsilon-{epsilon}/report.html" in out
        fit = next(e for e in Ledger(Store()).entries(artifact) if e.event == "fit").content["payload"]
        assert fit["parameters"]["epsilon"] == float(epsilon) and fit["parameters"]["shrinkage"] == 0.05
        assert fit["privacy_spent"] == {"epsilon": float(epsilon), "delta": 1e-6}  # YAML's 1e-6 read as a number
    code, out, _ = run("review", "list")
    assert all(a in out for a in artifacts)


def test_training_progress_shows_in_the_status_line(monkeypatch) -> None:
    import io

    from rich.console import Console

    from hygeia import cli
    from hygeia.generators.training import Trainer, progress_hook

    screen = io.StringIO()
    monkeypatch.setattr(cli, "err", Console(file=screen, force_terminal=True, width=200))
    with cli.steps(progress=True) as on_step:
        on_step("fitting tiny on 10 rows")
        trainer = Trainer(epochs=3, label="tiny")
        for epoch in trainer:
            trainer.report(0.25 * epoch)
    assert "fitting tiny on 10 rows: epoch 3/3 · loss 0.750 · 0 s" in screen.getvalue()
    assert progress_hook.get() is None  # reset on the way out
    with cli.steps() as on_step:
        assert progress_hook.get() is None  # only commands that fit ask for it (it imports torch)


def test_synth_help_teaches_privacy_options(run) -> None:
    code, out, _ = run("synth", "--help")
    assert code == 0
    for words in ("--epsilon", "1,3,10", "--max-time", "--param", "epsilon-<e>"):
        assert words in out, words
