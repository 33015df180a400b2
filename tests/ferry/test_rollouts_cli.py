"""`ferry models canary|shadow|shadow-report` and `promote --if-agreement`, on a folder registry."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from export.registry import Registry
from export.shadow import AgreementSummary, ShadowRecord, save
from ferry.cli import app
from ferry.errors import EXIT_CONFLICT, EXIT_GATE
from tests.support.onnx_models import publish_linear

LABELS = ["negative", "positive"]
WIDE = {"COLUMNS": "200"}


def record(registry: Registry, agreeing: int, flipped: int, replica: str) -> None:
    primary = np.array([[0.9, 0.1]] * (agreeing + flipped))
    shadow = np.array([[0.8, 0.2]] * agreeing + [[0.4, 0.6]] * flipped)
    summary = AgreementSummary()
    summary.add(
        primary, shadow, agreeing + flipped, (LABELS, primary.argmax(1), LABELS, shadow.argmax(1))
    )
    rollout = registry.rollout("tabular")
    assert rollout.shadow is not None
    primary_version = registry.aliases("tabular")["production"]
    save(
        registry,
        ShadowRecord(
            "tabular",
            "production",
            primary_version,
            rollout.shadow,
            rollout.session,
            replica,
            summary,
        ),
    )


def test_canary_and_shadow_commands_move_the_rollout_by_compare_and_swap(tmp_path: Path) -> None:
    registry = Registry(tmp_path / "reg")
    for seed in range(3):
        publish_linear(registry, seed=seed, promote=seed == 0)
    run = CliRunner().invoke
    url = ["--registry", str(tmp_path / "reg")]
    started = run(app, ["models", "canary", "tabular", "2", "--weight", "10", *url])
    assert started.exit_code == 0 and "tabular@production: canary 2 at 10%" in started.output
    shadowed = run(app, ["models", "shadow", "tabular", "3", "--fraction", "0.5", *url])
    assert shadowed.exit_code == 0
    assert "canary 2 at 10%, shadow 3 at 50%" in shadowed.output
    stale = run(app, ["models", "canary", "tabular", "3", "--weight", "5", "--expect", "2", *url])
    assert stale.exit_code == EXIT_CONFLICT and "points at 1, not 2" in stale.output
    assert run(app, ["models", "canary", "tabular", "--weight", "5", *url]).exit_code == 2
    assert run(app, ["models", "shadow", "tabular", *url]).exit_code == 2  # VERSION or --off
    bad = run(app, ["models", "canary", "tabular", "1", "--weight", "10", *url])
    assert bad.exit_code == 1 and "a canary is another version" in bad.output
    listed = run(app, ["models", "list", *url], env=WIDE)
    assert "production→1 (canary 2 at 10%, shadow 3 at 50%)" in listed.output
    ended = run(app, ["models", "canary", "tabular", "--weight", "0", *url])
    assert ended.exit_code == 0 and "tabular@production: shadow 3 at 50%" in ended.output
    off = run(app, ["models", "shadow", "tabular", "--off", *url])
    assert off.exit_code == 0 and "tabular@production: -" in off.output
    history = run(app, ["models", "history", "tabular", *url], env=WIDE)
    for said in ("canary 2 at 10%", "shadow 3 at 50%", "canary 2 ended", "shadow 3 ended"):
        assert said in history.output, said


def test_shadow_report_and_the_agreement_gate(tmp_path: Path) -> None:
    registry = Registry(tmp_path / "reg")
    for seed in range(2):
        publish_linear(registry, seed=seed, promote=seed == 0)
    run = CliRunner().invoke
    url = ["--registry", str(tmp_path / "reg")]
    none = run(app, ["models", "shadow-report", "tabular", *url])
    assert none.exit_code == 0 and "has had no shadow" in none.output
    assert run(app, ["models", "shadow", "tabular", "2", *url]).exit_code == 0
    record(registry, 70, 10, "replica-a")
    record(registry, 50, 0, "replica-b")
    png = tmp_path / "report" / "shadow.png"
    shown = run(app, ["models", "shadow-report", "tabular", "--png", str(png), *url], env=WIDE)
    assert shown.exit_code == 0, shown.output
    for said in ("2 against 1", "2 replica(s)", "requests compared", "130", "0.9231", "replica-a"):
        assert said in shown.output, said
    assert "confusion of labels" in shown.output
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    as_json = json.loads(run(app, ["models", "shadow-report", "tabular", "--json", *url]).output)
    assert as_json["requests"] == 130 and as_json["label_agreement"] == 120 / 130

    gate = ["models", "promote", "tabular", "2", "--if-agreement"]
    low = run(app, [*gate, "0.95", "--min-requests", "100", *url])
    assert low.exit_code == EXIT_GATE == 11, low.output
    assert "label agreement 0.9231 is below 0.95" in low.output
    few = run(app, [*gate, "0.9", "--min-requests", "500", *url])
    assert few.exit_code == EXIT_GATE and "fewer than 500" in few.output
    assert registry.aliases("tabular")["production"] == "1"
    passed = run(app, [*gate, "0.9", "--min-requests", "100", *url])
    assert passed.exit_code == 0, passed.output
    assert "tabular@production: 1 → 2 (label agreement 0.9231 ≥ 0.9 over 130 requests)" in (
        passed.output
    )
    assert registry.aliases("tabular")["production"] == "2" and registry.rollout("tabular").empty
    history = run(app, ["models", "history", "tabular", *url], env=WIDE)
    assert "gate: agreement 0.9231 ≥ 0.9" in history.output
    decisions = [d["decision"] for d in registry.audit("tabular")]
    assert decisions == ["refused", "refused", "promoted"]
