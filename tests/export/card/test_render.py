"""The card's content: every section, charts for what the manifest holds, notes for what it
does not, benchmark figures per version, records the card has no special view for."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from export.card import CardFacts, card_facts, render_card, render_compare
from export.errors import ExportError, ModelNotFound
from export.registry import Registry
from loadtests import records
from tests.export.card.conftest import strip_evaluation

SECTIONS = ("identity", "lineage", "metrics", "evaluation", "parity", "variant", "benchmarks",
            "signature", "labels", "files")  # fmt: skip
BINARY_CHARTS = ["learning_loss", "learning_metric", "roc", "precision_recall", "calibration",
                 "confusion_matrix"]  # fmt: skip


def charts(html: str) -> list[str]:
    return re.findall(r'<svg [^>]*data-chart="([a-z_]+)"', html)


def assert_self_contained(html: str) -> None:
    """No script, no stylesheet link, no image or anything else fetched from elsewhere."""
    lowered = html.lower()
    assert "<script" not in lowered and "<link" not in lowered and "<img" not in lowered
    assert not re.search(r"\b(src|href)\s*=", lowered)
    assert not re.search(r"url\(", lowered)
    # the only URL is the SVG namespace, which names and never fetches
    assert set(re.findall(r"https?://[^\s\"'<>]+", html)) <= {"http://www.w3.org/2000/svg"}


def test_a_trained_version_gets_every_section_and_chart(card_registry: Registry) -> None:
    html = render_card(card_facts(card_registry, "tabular"))
    assert_self_contained(html)
    for anchor in SECTIONS:
        assert f'<section id="{anchor}">' in html
    assert charts(html) == BINARY_CHARTS
    assert '<span class="alias">production</span>' in html
    assert "Not recorded" not in html and "holds no evaluation record" not in html
    manifest = card_registry.get("tabular").manifest
    for fact in (manifest.data_fingerprint, manifest.code_revision, manifest.files["model.onnx"]):
        assert fact in html
    assert "malignant" in html and "benign" in html and "passed" in html


def test_a_version_published_before_curves_were_recorded_says_what_is_missing(
    card_registry: Registry,
) -> None:
    strip_evaluation(card_registry, "tabular:1")
    facts = card_facts(card_registry, "tabular:1")
    assert facts.evaluation == {}  # the old manifest loads; the field defaults to empty
    html = render_card(facts)
    assert "holds no evaluation record" in html and charts(html) == []
    assert '<section id="metrics">' in html and "roc_auc" in html  # what it holds is shown


def test_a_partial_record_names_each_missing_curve(card_registry: Registry) -> None:
    manifest = card_registry.get("tabular").manifest.to_dict()
    del manifest["evaluation"]["roc"], manifest["evaluation"]["learning_curve"]
    html = render_card(CardFacts(manifest))
    assert "Not recorded in the manifest: learning curve, ROC curve." in html
    assert charts(html) == ["precision_recall", "calibration", "confusion_matrix"]


def test_unknown_model_or_version_is_the_registrys_clear_error(card_registry: Registry) -> None:
    with pytest.raises(ModelNotFound, match=r"version '9' of model 'tabular' not found"):
        card_facts(card_registry, "tabular:9")
    with pytest.raises(ModelNotFound, match=r"model 'nope' not found .* \(models: tabular\)"):
        card_facts(card_registry, "nope")
    with pytest.raises(ModelNotFound, match=r"alias 'staging' of model 'tabular' not found"):
        card_facts(card_registry, "tabular@staging")


def test_benchmarks_are_kept_per_version_and_the_latest_is_shown(
    card_registry: Registry,
) -> None:
    run = {"machine": "test box", "command": "ferry bench serve", "models": [_report("1", 900)]}
    records.record(card_registry, records.serve_entries(run))
    run["models"] = [_report("1", 1234)]
    records.record(card_registry, records.serve_entries(run))
    entries = card_registry.benchmarks("tabular")
    assert [e["servers"][0]["levels"][0]["rps"] for e in entries] == [900, 1234]
    assert all(e["version"] == "1" and e["kind"] == "serve" and e["at"] for e in entries)
    html = render_card(card_facts(card_registry, "tabular:1"))
    assert "1,234 req/s" in html and "900 req/s" not in html
    assert charts(html)[-1] == "bench_serve"
    with pytest.raises(ModelNotFound, match="version '7' of model 'tabular' not found"):
        card_registry.append_benchmark("tabular", {"kind": "serve", "version": "7"})
    with pytest.raises(ExportError, match="name no version"):
        card_registry.append_benchmark("tabular", {"kind": "serve"})
    assert len(card_registry.benchmarks("tabular")) == 2


def test_text_benchmark_figures_show_on_the_card(card_registry: Registry) -> None:
    report = {
        "model": "tabular",
        "version": "1",
        "machine": "test box",
        "fixed": [{"service": {"sentences_per_s": 410.5}, "raw_sentences_per_s": 500.0}],
        "checks": [
            ("service / raw, 128-token texts", 0.821, 0.85, False),
            ("text batching / row count, sentences/s", 1.54, 1.3, True),
        ],
    }
    records.record(card_registry, [records.text_entry(report)])
    html = render_card(card_facts(card_registry, "tabular:1"))
    assert "ferry bench text" in html and "<td>0.821</td>" in html and "<td>1.54</td>" in html
    assert "service / raw, 128-token texts" in html and "<td>no</td>" in html


def test_drift_reference_statistics_and_other_new_records_show_as_tables(
    card_registry: Registry,
) -> None:
    manifest = card_registry.get("tabular").manifest.to_dict()
    manifest["reference_statistics"] = {
        "rows": 341,
        "features": {"mean radius": {"mean": 14.1, "std": 3.5, "quantiles": [6.9, 11.7, 28.1]}},
    }
    manifest["serving_hints"] = {"batch": 64}
    html = render_card(CardFacts(manifest))
    assert "Drift reference statistics (reference statistics)" in html
    assert "mean radius" in html and "14.1" in html and "[6.9, 11.7, 28.1]" in html
    assert html.index("Drift reference") < html.index("Serving hints")


@pytest.mark.slow
def test_compare_overlays_curves_and_lines_up_metrics(second_version: Registry) -> None:
    a, b = card_facts(second_version, "tabular:1"), card_facts(second_version, "tabular:2")
    html = render_compare(a, b)
    assert_self_contained(html)
    assert "v1 vs v2" in html
    assert charts(html) == [*BINARY_CHARTS, "confusion_matrix"]  # one matrix per version
    roc = html[html.index('data-chart="roc"') :].split("</svg>")[0]
    assert roc.count("<polyline") == 3  # both versions and the chance line
    for metric, value in b.manifest["metrics"].items():
        delta = value - a.manifest["metrics"][metric]
        assert f"<td>{metric}</td>" in html and f"{delta:+.4g}" in html


def _report(version: str, rps: float) -> dict[str, object]:
    """One model's `bench_model` report, as much of it as the records read."""
    level = {"concurrency": 8, "rps": rps, "rows_per_s": rps, "p50_ms": 3.0, "p95_ms": 9.5,
             "p99_ms": 12.0, "errors": 0, "cpu_cores": 0.9, "mean_batch_rows": 2.5}  # fmt: skip
    return {
        "model": "tabular",
        "version": version,
        "raw_rows_per_s": {1: 150000.0, 32: 3.2e6},
        "raw_providers": ["CPUExecutionProvider"],
        "servers": [
            {
                "label": "ferry batched",
                "levels": [level],
                "cold_start_s": 2.0,
                "rss_mb": 230.0,
                "providers": ["CPUExecutionProvider"],
            }
        ],
        "checks": [("ferry / fastapi", 1.2, 1.0, True)],
    }


def test_rendering_needs_no_torch_matplotlib_or_numpy() -> None:
    """The service renders cards, and its image has none of these."""
    code = (
        "import sys, export.card\n"
        "heavy = {'torch', 'training', 'matplotlib', 'numpy', 'onnx', 'sklearn'}\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == "[]", done.stdout + done.stderr
