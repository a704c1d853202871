"""Model card for a released artifact, filled only from measured and recorded values.

Fields follow the CHAI Applied Model Card and the ONC HTI-1 source attributes: identity,
purpose, limits, data lineage, gate results, generation settings, human oversight, monitoring.
"""

from __future__ import annotations

import math
from typing import Any

from hygeia import __version__
from hygeia.evaluate.metric import Scorecard
from hygeia.store.db import ArtifactRecord, ReviewRecord

INTENDED_USE = ("Research and development on data that must not identify patients: method development, teaching, "
                "software testing, exploratory analysis and sample-size planning.")
OUT_OF_SCOPE = ("Decisions about the care of individual patients; estimating effects for publication without "
                "confirmation on the real data; linking back to or re-identifying the source patients; populations "
                "unlike the source population.")
AUTOMATED_REVIEWERS = {"demo"}


def build_model_card(artifact: ArtifactRecord, reviews: list[ReviewRecord], *, released_at: str,
                     ledger_head: str) -> dict[str, Any]:
    """Assemble the card as a JSON-ready dict."""
    rec = artifact.record
    prov = rec["provenance"]
    scorecard = Scorecard.from_dict(rec["scorecard"])
    groups = next((m.detail.get("groups") for m in scorecard if m.family == "fairness" and m.detail.get("groups")), None)
    unit = prov.get("unit", "rows")  # a synthetic cohort counts patients
    return {
        "identity": {"product": "Hygeia", "product_version": __version__, "artifact_id": artifact.id,
                     "artifact_kind": artifact.kind, "generator": prov["generator"],
                     "generator_description": prov.get("generator_summary", ""), "created_at": prov["created_at"],
                     "released_at": released_at},
        "purpose": {"intended_use": INTENDED_USE, "intended_users": "researchers and data scientists under a data-use "
                    "agreement; data stewards", "target_population": f"patients represented in {prov['source']}",
                    "decision_informed": "research questions about the source population, never individual care"},
        "limits": {"out_of_scope": OUT_OF_SCOPE, "known_risks": known_risks(scorecard, rec)},
        "data_lineage": {"source": prov["source"], "source_sha256": prov["source_sha256"], "unit": unit,
                         "source_rows": prov["source_rows"], "opt_out_removed": prov["opt_out_removed"],
                         "inclusion": f"all {prov['rows_after_consent']} {unit} remaining after the opt-out list",
                         "exclusion": f"{prov['opt_out_removed']} patients who opted out; a random holdout of "
                                      f"{prov['holdout_rows']} {unit} kept for evaluation only",
                         "columns_not_modelled": rec.get("identifiers", []),
                         "sensitive_attributes": prov.get("sensitive", []), "demographics": groups or []},
        "gate": {"policy": rec["verdict"]["policy"], "policy_sha256": rec["verdict"]["policy_sha256"],
                 "passed": rec["verdict"]["passed"], "reasons": rec["verdict"]["reasons"],
                 "test_data": f"{prov['holdout_rows']} real holdout {unit} never seen by the generator",
                 "metrics": [_metric_row(m) for m in scorecard]},
        "generation": {"generator": prov["generator"], "parameters": prov["parameters"], "seed": prov["seed"],
                       "rows": prov["rows"], "fit_seconds": prov["fit_seconds"], "training": prov.get("training") or {},
                       "differential_privacy": differential_privacy(prov),
                       "epsilon_sweep": prov.get("epsilon_sweep") or []},
        "human_oversight": [{"reviewer": r.reviewer, "role": r.role, "decision": r.decision, "comment": r.comment,
                             "time": r.created_at, "automated": r.reviewer in AUTOMATED_REVIEWERS} for r in reviews],
        "monitoring": {"rechecks": ["`hygeia ledger verify` before every release and on a schedule",
                                    "re-run `hygeia evaluate` when the source data changes (new SHA-256)",
                                    "re-generate and re-review when the policy changes"],
                       "ledger_head_at_release": ledger_head},
    }


def differential_privacy(provenance: dict[str, Any]) -> dict[str, Any] | None:
    """The DP statement of the fit (ε and δ spent and requested, mechanism, what is public); None if not private.

    Records made before the statement existed carry only ``privacy_spent``; that is kept.
    """
    statement = provenance.get("differential_privacy")
    if statement:
        return statement
    spent = provenance.get("privacy_spent")
    return {"epsilon_spent": spent["epsilon"], "delta_spent": spent["delta"]} if spent else None


def known_risks(scorecard: Scorecard, record: dict[str, Any]) -> list[str]:
    """Plain-language risks derived from the measured values, weakest first."""
    risks = []
    shapes = next((m for m in scorecard if m.name == "fidelity.column_shapes"), None)
    if shapes and shapes.detail.get("columns"):
        worst = sorted(shapes.detail["columns"].items(), key=lambda kv: kv[1])[:3]
        risks.append("least faithful columns: " + ", ".join(f"{c} ({v:.2f})" for c, v in worst))
    for metric in scorecard:
        if metric.passed is False:
            risks.append(f"failed at release review time: {metric.reason()}")
        elif metric.family == "fairness" and metric.computed and metric.name.endswith("gap") and metric.value > 0.05:
            group = metric.detail.get("worst_group", "one subgroup")
            what = ("models trained on the synthetic data predict less well for" if "utility" in metric.name
                    else "the synthetic data imitates less faithfully")
            risks.append(f"{metric.name} = {metric.value:.3f}: {what} {group} than for others")
    if record.get("identifiers"):
        cols = ", ".join(a["column"] for a in record["identifiers"])
        risks.append(f"identifier and free-text columns ({cols}) hold surrogates or were dropped: no real linkage")
    if not differential_privacy(record.get("provenance", {})):
        risks.append("no formal (differential) privacy guarantee: privacy rests on the measured checks alone")
    risks.append("synthetic rows are not real patients; rare combinations may be missing or implausible")
    return risks


def render_markdown(card: dict[str, Any]) -> str:
    """Human-readable card (Markdown)."""
    ident, lineage, gate = card["identity"], card["data_lineage"], card["gate"]
    lines = [f"# Model card: {ident['artifact_id']}", "",
             f"Generated by {ident['product']} {ident['product_version']} with `{ident['generator']}` "
             f"({ident['generator_description']}), created {ident['created_at']}, released {ident['released_at']}.", "",
             "## Purpose", f"- Intended use: {card['purpose']['intended_use']}",
             f"- Intended users: {card['purpose']['intended_users']}",
             f"- Target population: {card['purpose']['target_population']}",
             f"- Decision informed: {card['purpose']['decision_informed']}", "",
             "## Limits", f"- Out of scope: {card['limits']['out_of_scope']}",
             *[f"- Known risk: {r}" for r in card["limits"]["known_risks"]], "",
             "## Data lineage", f"- Source: {lineage['source']}", f"- Source SHA-256: `{lineage['source_sha256']}`",
             f"- {lineage.get('unit', 'rows').capitalize()}: {lineage['source_rows']} in the source; "
             f"opt-out removed: {lineage['opt_out_removed']}",
             f"- Inclusion: {lineage['inclusion']}", f"- Exclusion: {lineage['exclusion']}",
             f"- Sensitive attributes checked: {', '.join(lineage['sensitive_attributes']) or 'none'}"]
    for action in lineage["columns_not_modelled"]:
        lines.append(f"- Not modelled: `{action['column']}` ({action['kind']}) -> {action['action']}: {action['reason']}")
    if lineage["demographics"]:
        lines += ["", "| attribute | group | share real | share synthetic |", "|---|---|---|---|"]
        for g in lineage["demographics"]:
            lines.append(f"| {g['attribute']} | {g['group']} | {_fmt(g.get('share_real'))} | {_fmt(g.get('share_synthetic'))} |")
    lines += ["", "## Gate results", f"Policy `{gate['policy']}` (SHA-256 `{gate['policy_sha256'][:16]}…`): "
              f"**{'PASSED' if gate['passed'] else 'FAILED'}**. Test data: {gate['test_data']}.", ""]
    lines += [f"- {r}" for r in gate["reasons"]]
    lines += ["", "| metric | value | reference | threshold | result |", "|---|---|---|---|---|"]
    for m in gate["metrics"]:
        ref = f"{_fmt(m['reference'])} ({m['reference_label']})" if m["reference"] is not None else ""
        lines.append(f"| {m['name']} | {_fmt(m['value'])} | {ref} | {_fmt(m['threshold'])} | {m['result']} |")
    gen = card["generation"]
    lines += ["", "## Generation settings", f"- Generator: `{gen['generator']}`, parameters: `{gen['parameters']}`",
              f"- Seed: {gen['seed']}; {lineage.get('unit', 'rows')}: {gen['rows']}; fit time: {gen['fit_seconds']} s",
              *_training_lines(gen.get("training") or {}),
              *_privacy_lines(gen["differential_privacy"]), *_sweep_lines(gen.get("epsilon_sweep") or []),
              "", "## Human oversight"]
    for r in card["human_oversight"]:
        flag = " **(automated demo decision, not a human review)**" if r["automated"] else ""
        lines.append(f"- {r['time']}: {r['decision']} by {r['reviewer']} ({r['role']}){flag}"
                     + (f": {r['comment']}" if r["comment"] else ""))
    lines += ["", "## Monitoring", *[f"- {c}" for c in card["monitoring"]["rechecks"]],
              f"- Ledger head at release: `{card['monitoring']['ledger_head_at_release']}`", ""]
    return "\n".join(lines)


def _training_lines(training: dict[str, Any]) -> list[str]:
    """How a trained (neural) generator's training ended: epochs run and why it stopped (e.g. the time budget)."""
    if not training.get("epochs_run"):
        return []
    return [f"- Training: {training['epochs_run']} epochs run (best epoch {training.get('best_epoch', '–')}), "
            f"stopped by {training.get('reason', 'not recorded')} after {training.get('seconds', '–')} s"]


def _privacy_lines(dp: dict[str, Any] | None) -> list[str]:
    if not dp:
        return ["- Differential privacy: none (no formal privacy guarantee)"]
    lines = [f"- Differential privacy: ε = {_num(dp['epsilon_spent'])}, δ = {_num(dp['delta_spent'])} spent"
             + (f" (requested ε = {_num(dp['epsilon_requested'])}, δ = {_num(dp['delta_requested'])})"
                if dp.get("epsilon_requested") is not None else "")]
    if dp.get("mechanism"):
        lines.append(f"- DP mechanism: {dp['mechanism']}; composition: {dp.get('composition', 'not stated')}")
    if dp.get("public"):
        lines.append(f"- Treated as public under DP: {dp['public']}")
    return lines


def _sweep_lines(rows: list[dict[str, Any]]) -> list[str]:
    if not rows:
        return []
    lines = ["", "Epsilon sweep this artifact belongs to (same data and split, one candidate per ε):", "",
             "| ε | fidelity | utility (TSTR/TRTR) | MIA AUC | gate | artifact |", "|---|---|---|---|---|---|"]
    for r in sorted(rows, key=lambda r: float(r.get("epsilon") or 0)):
        lines.append(f"| {_num(r.get('epsilon'))} | {_fmt(r.get('fidelity.overall'))} | "
                     f"{_fmt(r.get('utility.tstr_trtr_ratio'))} | {_fmt(r.get('privacy.mia_auc'))} | "
                     f"{'pass' if r.get('gate_passed') else 'FAIL'} | {r.get('artifact_id', '')} |")
    return lines


def _num(value: Any) -> str:
    """ε and δ with enough digits (δ is often 1e-05 or smaller)."""
    return "–" if value is None else f"{float(value):.4g}"


def _metric_row(metric: Any) -> dict[str, Any]:
    result = "not gated" if metric.passed is None else ("pass" if metric.passed else "FAIL")
    if not metric.applicable:
        result = "not applicable"
    return {"name": metric.name, "value": None if not metric.computed else metric.value,
            "reference": metric.reference, "reference_label": metric.reference_label, "threshold": metric.threshold,
            "result": result, "goal": metric.goal.value,
            "reason": metric.detail.get("reason") if not metric.computed else None}


def _fmt(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:.3f}" if isinstance(value, float) else str(value)
