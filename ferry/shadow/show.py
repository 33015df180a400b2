"""A shadow report as tables: the figures, each replica's share, the confusion of labels."""

from __future__ import annotations

from rich.table import Table

from export.shadow import ShadowReport


def heading(report: ShadowReport) -> str:
    """What the report is about, in one line."""
    return (
        f"shadow of {report.model}@{report.alias}: {report.shadow} against {report.primary} "
        f"(session {report.session}, {len(report.replicas)} replica(s))"
    )


def figures_table(report: ShadowReport) -> Table:
    """One row per figure of the merged summary."""
    f = report.summary.figures()
    table = Table("figure", "value", title="agreement over every replica")
    rows = [
        ("requests compared", f"{f['requests']:,}"),
        ("rows compared", f"{f['rows']:,}"),
        ("requests the shadow failed", f"{f['failed']:,}"),
        ("requests dropped (queue full)", f"{f['dropped']:,}"),
        (
            "agreement (" + ("labels" if f["kind"] == "labels" else "mean cosine") + ")",
            _num(f["agreement"]),
        ),
        ("label agreement", _num(f["label_agreement"])),
        ("mean |Δ| (first output)", _num(f["abs_diff_mean"], "g")),
        ("max |Δ|", _num(f["abs_diff_max"], "g")),
        ("cosine min", _num(f["cosine_min"], ".6f")),
        ("cosine p01 / p05 / p50 (≥)", " / ".join(_num(f[k], ".6f") for k in _QUANTILES)),
        ("cosine mean", _num(f["cosine_mean"], ".6f")),
    ]
    for name, value in rows:
        table.add_row(name, value)
    return table


def replicas_table(report: ShadowReport) -> Table:
    table = Table("replica", "updated at", "requests", title="replicas (each wrote its share)")
    for replica in report.replicas:
        table.add_row(replica["replica"], replica["updated_at"], f"{replica['requests']:,}")
    return table


def confusion_table(report: ShadowReport) -> Table | None:
    """Rows: the primary's label; columns: the shadow's (None for non-classifiers)."""
    summary = report.summary
    if not summary.labels:
        return None
    table = Table(
        f"{report.primary} \\ {report.shadow}", *summary.labels, title="confusion of labels"
    )
    for label, row in zip(summary.labels, summary.confusion, strict=True):
        table.add_row(label, *(f"{int(n):,}" for n in row))
    return table


_QUANTILES = ("cosine_p01", "cosine_p05", "cosine_p50")


def _num(value: float | None, spec: str = ".4f") -> str:
    return "-" if value is None else format(value, spec)
