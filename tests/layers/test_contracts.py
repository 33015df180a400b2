"""The layers of DESIGN.md are checked, not just written down.

`make lint` runs import-linter with the contracts in pyproject.toml. Here a copy of
the packages gets one wrong-way import at a time, and the check must fail naming
the contract; the unchanged copy must pass. Every module of `export` must be
classified as contract (torch-free) or torch side, so a new one cannot slip past.
"""

from __future__ import annotations

import pkgutil
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import export

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ["ferry", "loadtests", "training", "export", "service"]
TORCH_SIDE = {"check", "metadata", "onnx", "optimize", "publish", "quality", "variants", "verify"}


def _contracts() -> list[dict[str, object]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    contracts: list[dict[str, object]] = config["tool"]["importlinter"]["contracts"]
    return contracts


@pytest.fixture(scope="module")
def copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("layers")
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package, root / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(ROOT / "pyproject.toml", root / "pyproject.toml")
    return root


def _lint(root: Path) -> subprocess.CompletedProcess[str]:
    lint = Path(sys.executable).parent / "lint-imports"
    return subprocess.run(
        [str(lint), "--no-cache"],
        cwd=root,
        env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_tree_keeps_every_contract(copy: Path) -> None:
    result = _lint(copy)
    assert result.returncode == 0, result.stdout[-3000:]
    assert f"Contracts: {len(_contracts())} kept, 0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        ("service/runtime/model.py", "import service.serving.batcher", "runtime below both"),
        ("service/serving/metrics.py", "import service.scoring.job", "never each other"),
        ("service/scoring/job.py", "import training.loop", "training"),
        ("export/registry/registry.py", "import service.runtime", "export contract at the bottom"),
        ("export/tokenizer.py", "import torch", "export contract is torch-free"),
        ("loadtests/raw.py", "import service.runtime.model", "public entry points"),
        ("training/loop.py", "import service.runtime", "the CLI on top"),
    ],
)
def test_a_wrong_way_import_breaks_the_lint(
    copy: Path, module: str, line: str, contract: str
) -> None:
    path = copy / module
    original = path.read_text()
    path.write_text(original + f"\n{line}  # the wrong way\n")
    try:
        result = _lint(copy)
    finally:
        path.write_text(original)
    assert result.returncode != 0
    assert "BROKEN" in result.stdout
    broken = [ln for ln in result.stdout.replace("\n", " ").split("KEPT") if "BROKEN" in ln]
    assert any(contract in part for part in broken), result.stdout[-3000:]


def test_every_export_module_is_classified() -> None:
    contract = next(c for c in _contracts() if "torch-free" in str(c["name"]))
    torch_free = {str(m).removeprefix("export.") for m in contract["source_modules"]}  # type: ignore[attr-defined]
    modules = {m.name for m in pkgutil.iter_modules(export.__path__)}
    unclassified = modules - torch_free - TORCH_SIDE
    assert not unclassified, f"classify these export modules in pyproject.toml: {unclassified}"
    assert not torch_free & TORCH_SIDE
