"""The HTML release report, rendered from the real ACTG 175 table.

The stand-in "synthetic" table is the real holdout plus a column-shuffled copy of it (so
correlations differ); the scorecard is hand-built with the detail formats the metrics
produce, its numbers computed here from the frames. Nothing here claims anything about quality.
"""

from __future__ import annotations

import base64
import io
import math
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib import image as mpimg
from sklearn.neighbors import NearestNeighbors

from hygeia.data.schema import ColumnSpec, Schema
from hygeia.evaluate.metric import Goal, Metric, Scorecard
from hygeia.release import ReportContext, make_figures, render_report, write_report
from hygeia.release.plots import correlation_difference, distribution_figure_name

IMG = re.compile(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)" alt="([^"]+)"')
MIA_REASON = "the attack classifier needs at least 50 holdout rows per class"


def _shuffled(frame: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({c: rng.permutation(frame[c].to_numpy()) for c in frame.columns})


def _dcr(train: pd.DataFrame, holdout: pd.DataFrame, synthetic: pd.DataFrame) -> tuple[float, dict]:
    """Distances to the closest train / holdout record on standardised values, equal-size references."""
    n = min(len(train), len(holdout))
    numeric = train.select_dtypes("number").columns
    train, holdout, synthetic = train[numeric], holdout[numeric], synthetic[numeric]
    ref_train, ref_hold = train.iloc[:n].astype(float), holdout.iloc[:n].astype(float)
    mu, sd = ref_train.mean(), ref_train.std().replace(0, 1)
    z = lambda f: ((f.astype(float) - mu) / sd).fillna(0.0).to_numpy()  # noqa: E731
    to_train = NearestNeighbors(n_neighbors=1).fit(z(ref_train)).kneighbors(z(synthetic))[0][:, 0]
    to_hold = NearestNeighbors(n_neighbors=1).fit(z(ref_hold)).kneighbors(z(synthetic))[0][:, 0]
    hold_to_train = NearestNeighbors(n_neighbors=1).fit(z(ref_train)).kneighbors(z(holdout.iloc[n // 2:]))[0][:, 0]
    edges = np.histogram_bin_edges(np.r_[to_train, hold_to_train], bins=20)
    hist = {"edges": edges.tolist(), "synthetic_to_train": np.histogram(to_train, edges)[0].tolist(),
            "holdout_to_train": np.histogram(hold_to_train, edges)[0].tolist()}
    return float(np.mean(to_train < to_hold)), hist


def _tvd(a: pd.Series, b: pd.Series) -> float:
    pa, pb = a.value_counts(normalize=True), b.value_counts(normalize=True)
    return float(pa.sub(pb, fill_value=0).abs().sum() / 2)


def _groups(train: pd.DataFrame, synthetic: pd.DataFrame, holdout: pd.DataFrame) -> list[dict]:
    rows = []
    for attr, other in (("gender", "race"), ("race", "gender")):
        for value in sorted(train[attr].unique()):
            tr, sy, ho = (f[f[attr] == value] for f in (train, synthetic, holdout))
            half = len(tr) // 2
            rows.append({"attribute": attr, "group": str(value), "n_train": len(tr), "n_synthetic": len(sy),
                         "n_holdout": len(ho), "share_real": len(tr) / len(train),
                         "share_synthetic": len(sy) / len(synthetic),
                         "fidelity": 1 - _tvd(tr[other], sy[other]),
                         "fidelity_ceiling": 1 - _tvd(tr[other].iloc[:half], tr[other].iloc[half:]),
                         "tstr": None, "trtr": None})
    return rows


def _scorecard(train: pd.DataFrame, holdout: pd.DataFrame, synthetic: pd.DataFrame) -> Scorecard:
    cols = list(train.columns)
    corr = correlation_difference(train, synthetic, cols)
    pair = 1 - np.nanmean(np.array(corr["matrix"])) / 2
    shapes = 1 - np.mean([_tvd(train[c], synthetic[c]) for c in cols])
    ceiling = 1 - np.mean([_tvd(train[c], holdout[c]) for c in cols])
    share, hist = _dcr(train, holdout, synthetic)
    groups = _groups(train, synthetic, holdout)
    gaps = [g["fidelity_ceiling"] - g["fidelity"] for g in groups]
    metrics = (
        Metric("fidelity.column_shapes", shapes, Goal.MAXIMIZE, description="1 - total variation distance per column"),
        Metric("fidelity.pair_trends", pair, Goal.MAXIMIZE, description="correlation agreement",
               detail={"correlation_difference": corr}),
        Metric("fidelity.overall", (shapes + pair) / 2, Goal.MAXIMIZE, reference=ceiling,
               reference_label="real holdout ceiling", description="mean of shapes and trends"),
        Metric("utility.tstr_trtr_ratio", math.nan, Goal.MAXIMIZE, applicable=False,
               detail={"reason": "no target column named in the policy"}, description="TSTR / TRTR"),
        Metric("privacy.mia_auc", math.nan, Goal.MINIMIZE, min_value=0.5, detail={"reason": MIA_REASON},
               description="membership inference attack AUC"),
        Metric("privacy.dcr_share_closer_to_train", share, Goal.MINIMIZE, detail={"histogram": hist},
               description="share of synthetic rows closer to train than to holdout"),
        Metric("fairness.worst_group_fidelity_gap", max(gaps), Goal.MINIMIZE, detail={"groups": groups},
               description="largest fidelity shortfall of any group"),
    )
    return Scorecard(metrics).with_thresholds({"privacy.mia_auc": 0.6, "privacy.dcr_share_closer_to_train": 0.6,
                                               "fidelity.overall": 0.5})


def _context(train: pd.DataFrame, holdout: pd.DataFrame, schema: Schema, **overrides) -> ReportContext:
    synthetic = pd.concat([holdout, _shuffled(holdout)], ignore_index=True)
    scorecard = _scorecard(train, holdout, synthetic)
    failed = [m for m in scorecard if m.passed is False]
    fields = dict(
        title="Synthetic ACTG 175 (test stand-in)", artifact_id="art-test-0001",
        status="UNRELEASED candidate: awaiting human review", verdict_passed=not failed,
        verdict_reasons=[m.reason() for m in failed], scorecard=scorecard, schema=schema, real=train,
        synthetic=synthetic,
        findings=[{"check": "constant_column", "severity": "info", "column": "zprior", "message": "one value only",
                   "count": len(train)},
                  {"check": "target_leak", "severity": "error", "column": "cens", "message": "predicts the target alone",
                   "count": None}],
        identifier_actions=[{"column": "pidnum", "kind": "identifier", "action": "surrogate",
                             "reason": "name suggests an identifier"},
                            {"column": "Unnamed: 0", "kind": "identifier", "action": "dropped",
                             "reason": "consecutive unique integers (a row number)"}],
        provenance={"source": "actg175.csv", "source_sha256": "ab" * 32, "generator": "test-stand-in",
                    "parameters": {"epochs": 10, "note": "<b>bold?</b>"}, "seed": 0, "rows": len(synthetic)},
    )
    fields.update(overrides)
    return ReportContext(**fields)


@pytest.fixture(scope="module")
def ctx(actg175_split) -> ReportContext:
    train, holdout = actg175_split
    return _context(train.frame, holdout.frame, train.schema)


@pytest.fixture(scope="module")
def figures(ctx) -> dict[str, bytes]:
    return make_figures(ctx)


@pytest.fixture(scope="module")
def html(ctx, figures) -> str:
    return render_report(ctx, figures)


def test_report_is_self_contained(html):
    assert not re.search(r'(src|href)\s*=\s*["\']?\s*(https?:)?//', html, re.IGNORECASE)
    assert "<script" not in html.lower()
    assert "<link" not in html.lower() and "@import" not in html and "url(" not in html


def test_every_column_has_a_distribution_plot(ctx, html):
    alts = [alt for _, alt in IMG.findall(html)]
    for col in ctx.schema.names:
        assert any(alt.startswith(f"Distribution of column {col} (") for alt in alts), col
    assert len(ctx.schema.names) == 26


def test_four_plot_kinds_are_embedded(figures, html):
    assert {"correlation_difference", "dcr_histogram", "subgroups"} <= set(figures)
    srcs = {src for src, _ in IMG.findall(html)}
    for name in ("correlation_difference", "dcr_histogram", "subgroups", distribution_figure_name(0, "age")):
        assert base64.b64encode(figures[name]).decode() in srcs, name


def test_embedded_pngs_open(html):
    images = IMG.findall(html)
    assert len(images) == 26 + 3
    for src, alt in images:
        pixels = mpimg.imread(io.BytesIO(base64.b64decode(src)), format="png")
        assert pixels.shape[0] > 100 and pixels.shape[1] > 200 and alt.strip()
        assert pixels[..., :3].std() > 0.05  # not a blank canvas


def test_fail_verdict_lists_reasons_first(ctx, html):
    assert not ctx.verdict_passed and ctx.verdict_reasons
    assert "FAIL" in html and ">PASS<" not in html
    first = html.index("Why the gate failed")
    for reason in ctx.verdict_reasons:
        assert first < html.index(str(reason)) < html.index("Headline numbers</h2>")
    assert "privacy.mia_auc could not be computed" in html


def test_pass_verdict(ctx, figures):
    passed = render_report(_replace(ctx, verdict_passed=True, verdict_reasons=[],
                                    status="Released 2024-05-01", review={"reviewer": "Dr Ada", "role": "steward",
                                                                          "decision": "approve", "comment": "ok",
                                                                          "time": "2024-05-01T10:00Z"}), figures)
    assert ">PASS<" in passed and "Why the gate failed" not in passed
    assert "status-released" in passed and "Dr Ada" in passed and "Pending." not in passed


def test_nan_metrics_show_their_reason(html):
    assert f"not computed: {MIA_REASON}" in html
    assert "not applicable: no target column named in the policy" in html
    assert "nan" not in re.sub(r"<[^>]+>", " ", html).lower().split()


def test_scorecard_rows_are_grouped_by_family(ctx, html):
    table = html[html.index('id="scorecard"'):html.index('id="distributions"')]
    positions = [table.index(f'scope="rowgroup">{fam}<') for fam in ("fidelity", "utility", "privacy", "fairness")]
    assert positions == sorted(positions)
    for metric in ctx.scorecard:
        assert f"<code>{metric.name}</code>" in table
    assert "real holdout ceiling" in table and "not gated" in table


def test_malicious_names_are_escaped(actg175_split, tmp_path):
    train, holdout = actg175_split
    evil = "<script>alert(1)</script>"
    cols = ["age", "gender", "race", "arms", "cd40"]
    rename = {"age": evil, "arms": "arm$ <b>"}

    def prep(frame: pd.DataFrame) -> pd.DataFrame:
        out = frame[cols].rename(columns=rename)
        out["arm$ <b>"] = out["arm$ <b>"].map(lambda v: f"${v}<i>")  # categories with markup and mathtext
        return out

    schema = Schema(columns=[ColumnSpec(name=rename.get(c, c), kind=train.schema[c].kind) for c in cols])
    ctx = _context(prep(train.frame), prep(holdout.frame), schema, title=f"Report {evil}",
                   verdict_reasons=[f"{evil} failed"], verdict_passed=False)
    path = write_report(ctx, tmp_path / "report.html")
    html = path.read_text(encoding="utf-8")
    assert "<script" not in html.lower() and "<b>" not in html and "<i>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert sum(alt.startswith("Distribution of column &lt;script&gt;") for _, alt in IMG.findall(html)) == 1


def test_figures_leave_no_pyplot_state(ctx):
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    small = _replace(ctx, real=ctx.real[["age", "wtkg"]], synthetic=ctx.synthetic[["age", "wtkg"]],
                     schema=ctx.schema.subset(["age", "wtkg"]))
    make_figures(small)
    assert plt.get_fignums() == before


def test_release_render_from_stored_figures(ctx, figures, tmp_path):
    """The release step re-renders without the real rows, from the PNGs saved with the candidate."""
    released = _replace(ctx, real=None, status="Released 2024-05-01")
    html = render_report(released, figures)
    assert len(IMG.findall(html)) == 26 + 3
    assert "correlation_difference" not in make_figures(_replace(released, scorecard=Scorecard()))


def test_missing_details_are_noted_not_crashed(ctx):
    bare = _replace(ctx, real=None, scorecard=Scorecard(), findings=[], identifier_actions=[])
    html = render_report(bare)
    assert "carries no distance-to-closest-record histogram" in html
    assert "No subgroup breakdown" in html and "No distribution plots" in html
    assert not IMG.findall(html)


def test_missing_values_and_dates_are_plotted(actg175_split):
    """cd496 has missing values in ACTG 175; follow-up days become real calendar dates."""
    train, holdout = actg175_split
    dates = lambda f: pd.Timestamp("1991-12-01") + pd.to_timedelta(f["days"], unit="D")  # noqa: E731
    real, syn = train.frame[["cd496"]].assign(followup=dates(train.frame)), holdout.frame[["cd496"]].assign(
        followup=dates(holdout.frame))
    schema = Schema(columns=[ColumnSpec(name="cd496", kind=train.schema["cd496"].kind),
                             ColumnSpec(name="followup", kind="datetime")])
    ctx = _context(train.frame, holdout.frame, train.schema)
    small = _replace(ctx, real=real, synthetic=syn, schema=schema, scorecard=Scorecard())
    figures = make_figures(small)
    html = render_report(small, figures)
    assert real["cd496"].isna().any() and f"Missing: real {real['cd496'].isna().mean():.1%}" in html
    assert len(IMG.findall(html)) == 3  # two columns + the self-computed correlation heatmap
    first, last = real["followup"].min(), real["followup"].max()
    assert f"Real {first.date().isoformat()} to {last.date().isoformat()};" in html


def test_wide_tables_are_capped(ctx):
    wide = pd.concat([ctx.real, ctx.real.add_suffix("_copy")], axis=1)
    schema = Schema(columns=[*ctx.schema.columns, *(ColumnSpec(name=f"{c.name}_copy", kind=c.kind)
                                                     for c in ctx.schema.columns)])
    html = render_report(_replace(ctx, real=wide, synthetic=wide, schema=schema), figures={})
    assert html.count("Plot not available for this column.") == 40
    assert "12 further columns are not plotted" in html


@pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="headless chromium not installed")
def test_chromium_screenshot(ctx, figures, tmp_path):
    path = write_report(ctx, tmp_path / "report.html", figures)
    shot = tmp_path / "report.png"
    subprocess.run([shutil.which("chromium") or "/usr/bin/chromium", "--headless", "--no-sandbox", "--disable-gpu",
                    f"--screenshot={shot}", "--window-size=1280,4000", path.as_uri()], check=True, timeout=60,
                   capture_output=True)
    assert mpimg.imread(shot).shape[0] > 1000


DP = {"epsilon_requested": 3.0, "delta_requested": 1e-5, "delta_rule": "given", "epsilon_spent": 2.71,
      "delta_spent": 1e-5, "mechanism": "Laplace histograms <script>x</script> then Analyze Gauss",
      "public": "column list, categories, ranges", "composition": "basic (ε and δ add up)"}
SWEEP = [{"epsilon": e, "epsilon_spent": e, "delta_spent": 1e-5, "fidelity.overall": f, "utility.tstr_trtr_ratio": u,
          "privacy.mia_auc": m, "gate_passed": e >= 3, "artifact_id": f"tab-e{e:g}"}
         for e, f, u, m in ((10.0, 0.96, 0.97, 0.51), (1.0, 0.85, None, 0.5), (3.0, 0.93, 0.91, 0.52))]


def _section(html: str) -> str:
    return html[html.index('id="differential-privacy"'):html.index('id="subgroups"')]


def test_report_says_when_there_is_no_privacy_guarantee(html):
    assert "Not differentially private" in _section(html)
    assert "<dt>Differential privacy</dt><dd>none</dd>" in html


def test_report_shows_budget_mechanism_public_facts_and_the_sweep(ctx):
    # Without real rows (as a release re-renders), so no distribution plots are redrawn here.
    private = _replace(ctx, real=None, provenance={**ctx.provenance, "differential_privacy": DP, "epsilon_sweep": SWEEP})
    figures = make_figures(private)
    section = _section(render_report(private, figures))
    assert '<td class="num">2.71</td><td class="num">3</td>' in section  # ε spent vs requested
    assert '<td class="num">1.00e-05</td><td class="num">1.00e-05' in section
    assert "&lt;script&gt;x&lt;/script&gt;" in section and "<script>" not in section
    assert "column list, categories, ranges" in section
    rows = re.findall(r'<tr( class="current")?><th scope="row">(?:<strong>)?([\d.]+)', section)
    assert rows == [("", "1"), (' class="current"', "3"), ("", "10")]  # ordered by ε, this candidate marked
    assert "tab-e1" in section and "tab-e10" in section
    (src, alt), = IMG.findall(section)
    assert src == base64.b64encode(figures["epsilon_sweep"]).decode()
    assert "ε 1: fidelity 0.850, utility —, MIA AUC 0.500" in alt
    pixels = mpimg.imread(io.BytesIO(figures["epsilon_sweep"]), format="png")
    assert pixels.shape[1] > 500 and pixels[..., :3].std() > 0.05


def test_single_candidate_has_no_sweep_figure(ctx):
    one = _replace(ctx, real=None, provenance={**ctx.provenance, "differential_privacy": DP, "epsilon_sweep": SWEEP[:1]})
    assert "epsilon_sweep" not in make_figures(one)


def _replace(ctx: ReportContext, **changes) -> ReportContext:
    from dataclasses import replace

    return replace(ctx, **changes)
