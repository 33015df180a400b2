"""The drift report as a table: one row per feature, drifted ones first and in red."""

from __future__ import annotations

from rich.table import Table

from export.drift import DriftReport


def report_table(report: DriftReport, title: str) -> Table:
    """Feature, source, PSI, KS, Wasserstein (in reference standard deviations), verdict."""
    table = Table("feature", "source", "PSI", "KS", "W1 (sd)", "drifted", title=title)
    ordered = sorted(report.features, key=lambda f: (not f.drifted, -f.psi))
    for f in ordered:
        style = "red" if f.drifted else None
        table.add_row(
            f.name,
            f.source,
            f"{f.psi:.3f}",
            "-" if f.ks is None else f"{f.ks:.3f}",
            "-" if f.wasserstein is None else f"{f.wasserstein:.3f}",
            "yes" if f.drifted else "",
            style=style,
        )
    return table
