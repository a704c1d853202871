"""`Policy`: what a release must achieve, as a validated YAML file.

Unknown keys, wrong types and misspelt metric or check names are errors that name the
offending key and suggest the intended one, so a typo can never silently relax a gate::

    name: research-release
    target: cens
    sensitive: [gender, race, age]
    thresholds:
      privacy.mia_auc: 0.60
"""

from __future__ import annotations

import difflib
import hashlib
from importlib import resources
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from hygeia.data.quality import CHECKS
from hygeia.evaluate.catalog import FAMILIES, METRIC_NAMES
from hygeia.errors import PolicyError

DEFAULT_POLICY = "default"


class Policy(BaseModel):
    """Release requirements for a synthetic table, a synthetic cohort (``fhir-cohort`` policy) or a clinical
    text draft (``clinical-text`` policy)."""

    model_config = ConfigDict(extra="forbid")

    name: str = "default"
    description: str = ""
    target: str | None = Field(None, description="column whose prediction measures utility (TSTR vs TRTR)")
    sensitive: list[str] = Field(default_factory=list, description="attributes for subgroup fairness checks")
    holdout_fraction: float = Field(0.3, ge=0.1, le=0.5, description="share of real rows kept out of training")
    min_rows: int = Field(50, ge=10, description="fewer real rows (patients, for a cohort) than this is refused")
    identifiers: Literal["surrogate", "drop"] = "surrogate"
    require: list[str] = Field(
        default_factory=lambda: ["fidelity", "privacy"],
        description="metric families that must be measured; a missing target/sensitive list then fails the gate")
    blocking_checks: list[str] = Field(default_factory=lambda: ["all_missing", "few_rows"],
                                       description="data-quality checks whose findings block release")
    max_epsilon: float | None = Field(None, gt=0, description="require differential privacy with at most this epsilon")
    thresholds: dict[str, float] = Field(default_factory=dict)

    @field_validator("thresholds")
    @classmethod
    def _known_metrics(cls, value: dict[str, float]) -> dict[str, float]:
        for name in value:
            if name not in METRIC_NAMES:
                raise ValueError(f"unknown metric {name!r}{_suggest(name, METRIC_NAMES)}")
        return value

    @field_validator("require")
    @classmethod
    def _known_families(cls, value: list[str]) -> list[str]:
        for name in value:
            if name not in FAMILIES:
                raise ValueError(f"unknown metric family {name!r}{_suggest(name, FAMILIES)}")
        return value

    @field_validator("blocking_checks")
    @classmethod
    def _known_checks(cls, value: list[str]) -> list[str]:
        for name in value:
            if name not in CHECKS:
                raise ValueError(f"unknown data-quality check {name!r}{_suggest(name, CHECKS)}")
        return value

    def digest(self) -> str:
        """SHA-256 of the effective policy, for the ledger."""
        return hashlib.sha256(self.model_dump_json().encode()).hexdigest()

    def with_overrides(self, *, target: str | None = None, sensitive: list[str] | None = None) -> Policy:
        """Command-line ``--target`` / ``--sensitive`` win over the file."""
        update: dict[str, object] = {}
        if target is not None:
            update["target"] = target
        if sensitive is not None:
            update["sensitive"] = sensitive
        return self.model_copy(update=update)


def load_policy(path: str | Path | None = None) -> Policy:
    """Load a policy file, or a shipped one by name (``default``, ``demo``)."""
    if path is None:
        path = DEFAULT_POLICY
    shipped = resources.files("hygeia.governance").joinpath("policies", f"{path}.yaml")
    if isinstance(path, str) and "/" not in path and not path.endswith((".yaml", ".yml")) and shipped.is_file():
        text, where = shipped.read_text(encoding="utf-8"), f"shipped policy {path!r}"
    else:
        p = Path(path)
        if not p.is_file():
            raise PolicyError(f"policy file {p} not found; give a YAML file or a shipped policy name (default, demo, clinical-text, fhir-cohort)")
        try:
            text = p.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise PolicyError(f"policy file {p} is not UTF-8 text; save it as UTF-8 YAML") from None
        where = f"policy file {p}"
    return parse_policy(text, where)


def parse_policy(text: str, where: str = "policy") -> Policy:
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark else ""
        raise PolicyError(f"{where} is not valid YAML{at}: {getattr(exc, 'problem', exc)}; fix the syntax") from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise PolicyError(f"{where} must be a YAML mapping of settings (name, target, thresholds, ...)")
    try:
        return Policy.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(p) for p in err["loc"]) or "(top level)"
        if err["type"] == "extra_forbidden":
            known = list(Policy.model_fields)
            raise PolicyError(f"{where}: unknown key {key!r}{_suggest(str(err['loc'][-1]), known)}") from None
        msg = err["msg"].removeprefix("Value error, ")
        raise PolicyError(f"{where}: {key}: {msg}") from None


def _suggest(name: str, choices: tuple[str, ...] | list[str]) -> str:
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    if close:
        return f" (did you mean {close[0]!r}?)"
    return f"; known: {', '.join(choices)}"


__all__ = ["Policy", "load_policy", "parse_policy", "FAMILIES"]
