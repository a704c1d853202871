"""Policy files: shipped policies load; typos and wrong types are one-line errors with a suggestion."""

from __future__ import annotations

import pytest

from hygeia.errors import PolicyError
from hygeia.evaluate.catalog import METRIC_NAMES
from hygeia.governance.policy import load_policy, parse_policy


def test_shipped_policies_load_and_name_only_known_metrics() -> None:
    for name in ("default", "demo"):
        policy = load_policy(name)
        assert set(policy.thresholds) <= set(METRIC_NAMES)
        assert policy.thresholds["privacy.mia_auc"] <= 0.6
    assert load_policy("demo").target == "cens"


def test_digest_changes_with_any_threshold() -> None:
    a = parse_policy("thresholds: {privacy.mia_auc: 0.6}")
    b = parse_policy("thresholds: {privacy.mia_auc: 0.61}")
    assert a.digest() != b.digest()


@pytest.mark.parametrize("text, expected", [
    ("treshold: {}", "unknown key 'treshold' (did you mean 'thresholds'?)"),
    ("thresholds: {privacy.mia_aux: 0.6}", "unknown metric 'privacy.mia_aux' (did you mean 'privacy.mia_auc'?)"),
    ("thresholds: {privacy.mia_auc: high}", "thresholds.privacy.mia_auc"),
    ("holdout_fraction: 0.9", "holdout_fraction"),
    ("blocking_checks: [duplicate]", "did you mean 'duplicates'?"),
    ("require: [speed]", "unknown metric family 'speed'"),
    ("require: [fidelty, plausibility]", "did you mean 'fidelity'?"),
    ("identifiers: keep", "identifiers"),
    ("thresholds: {a: [1, 2", "not valid YAML at line"),
    ("- just\n- a list", "must be a YAML mapping"),
])
def test_malformed_policies_name_the_problem(text: str, expected: str) -> None:
    with pytest.raises(PolicyError) as exc:
        parse_policy(text, "policy.yaml")
    message = str(exc.value)
    assert expected in message
    assert "\n" not in message


def test_missing_policy_file_is_a_clear_error(tmp_path) -> None:
    with pytest.raises(PolicyError, match="not found"):
        load_policy(str(tmp_path / "nope.yaml"))


def test_command_line_overrides_win() -> None:
    policy = load_policy("demo").with_overrides(target="days", sensitive=["race"])
    assert policy.target == "days" and policy.sensitive == ["race"]
