"""Every subcommand with the common mistakes: one line saying what is wrong, the exit code
of that kind of mistake (ferry/errors.py), and never a traceback."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from export.registry import Registry
from ferry.cli import app
from ferry.errors import Code
from tests.support.onnx_models import publish_linear


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A registry with one model, an input file, rows, and a few broken files."""
    root = tmp_path_factory.mktemp("mistakes")
    publish_linear(Registry(root / "reg"), "tabular")
    pq.write_table(pa.table({f"f{i}": np.zeros(3) for i in range(30)}), root / "in.parquet")
    (root / "rows.json").write_text(json.dumps([[0.0] * 30]))
    (root / "bad.json").write_text("{nope")
    (root / "drops").mkdir()
    return root


@pytest.fixture(scope="module")
def ports() -> Iterator[tuple[int, int]]:
    """(a port something listens on, a port nothing listens on)."""
    with socket.socket() as busy, socket.socket() as free:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        free.bind(("127.0.0.1", 0))
        closed = free.getsockname()[1]
        free.close()
        yield busy.getsockname()[1], closed


# (arguments with {R} the registry, {D} the folder, {BUSY}/{FREE} ports; exit code; says)
CASES = [
    ("train tabular --data {D}/missing.csv --target y", Code.NO_FILE, "missing.csv"),
    ("train nope --registry {R}", Code.USAGE, "unknown recipe 'nope'"),
    ("train tabular --epochs 0 --registry {R}", Code.USAGE, "--epochs"),
    ("export nope --precision int8 --registry {R}", Code.UNKNOWN_MODEL, "model 'nope'"),
    ("export tabular --precision int4 --registry {R}", Code.USAGE, "--precision"),
    ("export tabular --precision int8 --inputs {D}/x.npz --registry {R}", Code.NO_FILE, "x.npz"),
    ("models show nope --registry {R}", Code.UNKNOWN_MODEL, "model 'nope' not found"),
    ("models show tabular:9 --registry {R}", Code.UNKNOWN_MODEL, "version '9'"),
    ("models show tabular@staging --registry {R}", Code.UNKNOWN_MODEL, "alias 'staging'"),
    ("models show a/b --registry {R}", Code.USAGE, "invalid name 'a/b'"),
    ("models promote tabular 9 --registry {R}", Code.UNKNOWN_MODEL, "version '9'"),
    ("models copy tabular --to {D}/baked --alias a/b --registry {R}", Code.USAGE, "'a/b'"),
    ("models rollback tabular --registry {R}", Code.FAILED, "no earlier version"),
    ("serve --port {FREE} --registry {D}/missing", Code.NO_FILE, "no such folder"),
    ("serve --port 70000 --registry {R}", Code.USAGE, "--port"),
    ("serve --port {BUSY} --registry {R}", Code.PORT_IN_USE, "port {BUSY} on 127.0.0.1"),
    ("serve --host not-a-host.invalid --registry {R}", Code.USAGE, "--host"),
    ("predict tabular {D}/missing.json", Code.NO_FILE, "missing.json"),
    ("predict tabular {D}/rows.json --url http://127.0.0.1:{FREE}", Code.UNREACHABLE, ":{FREE}"),
    ("predict tabular {D}/rows.json --url ftp://x", Code.USAGE, "--url ftp://x"),
    ("predict tabular {D}/bad.json", Code.USAGE, "bad.json: not JSON"),
    ("predict tabular {D}/rows.json --timeout 0", Code.USAGE, "--timeout"),
    (
        "score tabular -i {D}/missing.parquet -o {D}/o.parquet --registry {R}",
        Code.NO_FILE,
        "--input",
    ),
    ("score nope -i {D}/in.parquet -o {D}/o.parquet --registry {R}", Code.UNKNOWN_MODEL, "'nope'"),
    (
        "score tabular -i {D}/in.parquet -o {D}/in.parquet --registry {R}",
        Code.USAGE,
        "is the input",
    ),
    (
        "score tabular -i {D}/in.parquet -o {D}/o.csv --rejects {D}/o.csv --registry {R}",
        Code.USAGE,
        "same file",
    ),
    (
        "score tabular -i {D}/in.parquet -o {D}/o.parquet --batch-rows 0 --registry {R}",
        Code.USAGE,
        "--batch-rows",
    ),
    (
        "score tabular -i {D}/in.parquet -o {D}/o.parquet --engine spark --registry {R}",
        Code.USAGE,
        "--engine",
    ),
    ("retrain tabular --data {D}/missing --registry {R}", Code.NO_FILE, "--data"),
    (
        "retrain tabular --data {D}/drops --every soon --registry {R}",
        Code.USAGE,
        "invalid duration",
    ),
    ("retrain tabular --data {D}/drops --tolerance -1 --registry {R}", Code.USAGE, "--tolerance"),
    ("data simulate nope --out {D}/sim --registry {R}", Code.USAGE, "unknown recipe 'nope'"),
    ("data simulate tabular --out {D}/sim --rows 0 --registry {R}", Code.USAGE, "--rows"),
    ("bench score --registry {D}/missing --rows 10", Code.UNKNOWN_MODEL, "'tabular' not found"),
    ("bench fuzz --registry {D}/missing", Code.NO_FILE, "no such folder"),
    ("bench soak --registry {D}/missing", Code.NO_FILE, "no such folder"),
    ("bench soak --minutes 0 --registry {R}", Code.USAGE, "--minutes"),
]


def _fill(text: str, world: Path, ports: tuple[int, int]) -> str:
    return text.format(R=world / "reg", D=world, BUSY=ports[0], FREE=ports[1])


@pytest.mark.parametrize(("args", "code", "says"), CASES, ids=[c[0].split(" {")[0] for c in CASES])
def test_common_mistakes_get_one_line_and_their_exit_code(
    world: Path, ports: tuple[int, int], args: str, code: Code, says: str
) -> None:
    result = CliRunner().invoke(app, _fill(args, world, ports).split())
    output = result.stdout + result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit), output
    assert "Traceback" not in output
    assert result.exit_code == code, output
    assert _fill(says, world, ports) in " ".join(output.split())
    if code != Code.USAGE:  # click's usage errors come in its box; ours are one line
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr


def test_nothing_was_copied_for_a_bad_alias(world: Path) -> None:
    assert not (world / "baked").exists() or not any((world / "baked").rglob("*.onnx"))


@pytest.mark.parametrize(
    ("args", "code"),
    [
        ("serve --port {BUSY} --registry {R}", 7),
        ("predict tabular {D}/rows.json --url http://127.0.0.1:{FREE}", 6),
    ],
)
def test_a_real_process_prints_one_line_and_no_traceback(
    world: Path, ports: tuple[int, int], args: str, code: int
) -> None:
    env = {k: v for k, v in os.environ.items() if k != "FERRY_DEBUG"}
    result = subprocess.run(
        [sys.executable, "-m", "ferry", *_fill(args, world, ports).split()],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
