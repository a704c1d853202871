"""The cohort report's figures render from real histories (Eunomia, Synthea vitals), with and without a baseline."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest
from matplotlib import image as mpimg

from hygeia.data.longitudinal import Cohort
from hygeia.release.cohort_plots import plot_cohort_figures
from hygeia.release.cohort_report import FIGURES

sys.path.insert(0, str(Path(__file__).parents[1] / "evaluate"))
import cohort_fixtures as cf


def _image(png: bytes):
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    return mpimg.imread(io.BytesIO(png), format="png")


@pytest.fixture(scope="module")
def eunomia() -> tuple[Cohort, Cohort]:
    train, holdout = cf.eunomia_split()
    small = train.subset(train.patients["patient_id"][:400])
    return small, holdout.subset(holdout.patients["patient_id"][:200])


def test_every_report_figure_renders_with_a_baseline(eunomia):
    train, synthetic = eunomia
    figures = plot_cohort_figures(train, synthetic, baseline=cf.independent(train, 150))
    assert set(figures) == set(FIGURES)
    for name, png in figures.items():
        height, width = _image(png).shape[:2]
        assert width >= 600 and height >= 100, name


def test_lab_values_figure_says_when_there_are_none(eunomia):
    train, synthetic = eunomia
    without = plot_cohort_figures(train, synthetic)
    assert _image(without["lab_values"]).shape[0] < 200  # a one-line note: Eunomia has no measurement values
    vitals = cf.synthea_cohort()
    tr, ho = vitals.split(0.3, seed=0)
    with_values = plot_cohort_figures(tr, cf.shuffle_times(ho))
    assert _image(with_values["lab_values"]).shape[0] > 400  # four small multiples


def test_an_empty_synthetic_cohort_still_renders(eunomia):
    train, _ = eunomia
    figures = plot_cohort_figures(train, train.subset([]))
    assert set(figures) == set(FIGURES) and all(_image(png).size for png in figures.values())
