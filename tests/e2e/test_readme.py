"""The README's serve command, run as written in a clean clone (with this checkout's venv)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import numpy as np
import onnxruntime as ort
import pytest
from sklearn.datasets import load_breast_cancer

from loadtests.servers import free_port, wait_ready

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


def test_readme_names_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "make serve" in readme and "make test" in readme
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_make_serve_trains_the_default_model_and_serves_it(tmp_path: Path) -> None:
    # what the README asks for; missing, the test fails (CI runs on a git clone with make)
    assert shutil.which("make") and shutil.which("git"), "the README's commands need make and git"
    assert (ROOT / ".git").exists(), f"{ROOT} is not a git checkout"
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
    venv = Path(sys.prefix)
    # -o: make takes the install stamp as done, whether or not `make install` made this venv
    stamp = venv / ".installed-dev"
    port = free_port()
    env = {**os.environ, "FERRY_PORT": str(port), "FERRY_GRPC_PORT": str(free_port())}
    env.pop("FERRY_REGISTRY", None)
    log = tmp_path / "serve.log"
    # everything but the install runs exactly as the README says
    cmd = ["make", "serve", f"VENV={venv}", "-o", str(stamp)]
    with log.open("w") as out:
        proc = subprocess.Popen(
            cmd, cwd=clone, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        wait_ready(f"http://127.0.0.1:{port}", proc, log, timeout=240)  # type: ignore[arg-type]
        row = load_breast_cancer().data[0].tolist()
        answer = httpx.post(
            f"http://127.0.0.1:{port}/predict",
            json={"model": "tabular", "inputs": {"features": [row]}},
        ).json()
        assert answer["model_version"] == "1" and answer["predictions"] == ["malignant"]
        assert (clone / "registry" / "tabular" / "aliases.json").is_file()
        published = clone / "registry" / "tabular" / "1" / "model.onnx"
        session = ort.InferenceSession(str(published), providers=["CPUExecutionProvider"])
        want = session.run(None, {"features": np.float32([row])})[0]
        np.testing.assert_allclose(answer["outputs"]["probabilities"], want, atol=1e-6)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
