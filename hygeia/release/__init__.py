"""Release stage: exports with a manifest, and the self-contained HTML report."""

from hygeia.release.report import ReportContext, make_figures, render_report, write_report

__all__ = ["ReportContext", "make_figures", "render_report", "write_report"]
