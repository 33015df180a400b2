"""`ferry models` on registry URLs: compare-and-swap moves, their exit code, gc."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from export.registry import Registry
from ferry.cli import app
from ferry.errors import EXIT_CONFLICT
from tests.support.onnx_models import publish_linear


def test_promote_with_expect_moves_or_refuses_with_its_own_exit_code(tmp_path: Path) -> None:
    registry = Registry(f"file://{tmp_path}/reg")
    for seed in range(3):
        publish_linear(registry, seed=seed, promote=False)
    registry.promote("tabular", "1")
    run = CliRunner().invoke
    url = ["--registry", f"file://{tmp_path}/reg"]
    stale = run(app, ["models", "promote", "tabular", "3", "--expect", "2", *url])
    assert stale.exit_code == EXIT_CONFLICT == 4, stale.output
    assert "alias 'production' points at 1, not 2" in stale.output
    assert registry.aliases("tabular") == {"production": "1"}
    moved = run(app, ["models", "promote", "tabular", "3", "--expect", "1", *url])
    assert moved.exit_code == 0 and "tabular@production: 1 → 3" in moved.output
    new = run(
        app, ["models", "promote", "tabular", "2", "--alias", "canary", "--expect", "-", *url]
    )
    assert new.exit_code == 0, new.output
    again = run(
        app, ["models", "promote", "tabular", "3", "--alias", "canary", "--expect", "-", *url]
    )
    assert again.exit_code == EXIT_CONFLICT
    back = run(app, ["models", "rollback", "tabular", "--expect", "3", *url])
    assert back.exit_code == 0 and registry.aliases("tabular")["production"] == "1"


def test_gc_and_list_ignore_what_is_not_ferrys(tmp_path: Path) -> None:
    registry = Registry(tmp_path / "reg")
    publish_linear(registry)
    (tmp_path / "reg" / "lost+found").mkdir()
    (tmp_path / "reg" / ".snapshot").mkdir()
    (tmp_path / "reg" / "notes.txt").write_text("stray")
    registry.storage.create("tabular/2/.claim", b"{}")  # a killed publish
    run = CliRunner().invoke
    url = ["--registry", str(tmp_path / "reg")]
    listed = run(app, ["models", "list", *url], env={"COLUMNS": "200"})
    assert listed.exit_code == 0 and "tabular" in listed.output and "lost" not in listed.output
    young = run(app, ["models", "gc", *url])
    assert young.exit_code == 0 and "removed 0 orphan(s) older than 24h" in young.output
    dry = run(app, ["models", "gc", "--older-than", "0.001s", "--dry-run", *url])
    assert "would remove 1 orphan(s)" in dry.output and registry.orphans() != []
    removed = run(app, ["models", "gc", "--older-than", "0.001s", *url])
    assert removed.exit_code == 0 and "tabular/2" in removed.output
    assert registry.orphans() == [] and (tmp_path / "reg" / "lost+found").is_dir()
