"""tests/conftest.py's rules, run on throwaway test files in a pytest of their own.

A skip fails the run unless it is a `gpu` test's on a machine without a GPU; the
environment of the shell running pytest never reaches a test.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TESTS = """
import os
import pytest

# what the suite itself sets: no usage reports, and a session folder for cached versions
SUITE = ["BENTOML_DO_NOT_TRACK", "FERRY_CACHE_DIR"]

def settings():
    return sorted(n for n in os.environ if n.startswith(("FERRY_", "BENTOML_", "RAY_ADDRESS")))

def test_passes():
    assert settings() == SUITE

def test_passes_and_sets_a_variable():
    os.environ["FERRY_LEFT_BEHIND"] = "1"

def test_passes_after_one_that_set_a_variable():
    assert settings() == SUITE

def test_skips():
    pytest.skip("the reason it gave")

@pytest.mark.gpu
def test_on_the_gpu():
    pytest.skip("a gpu test that skipped by itself")
"""


def run_pytest(folder: Path, tests: str, gpu: str, *args: str) -> subprocess.CompletedProcess[str]:
    """pytest with the suite's rules as a plugin, in `folder`; `gpu` is what the driver says."""
    (folder / "pytest.ini").write_text("[pytest]\nmarkers =\n    gpu: needs a GPU\n")
    # what the driver reports, decided here: these tests check the rules, not this machine
    (folder / "conftest.py").write_text(
        f"import tests.conftest as rules\nrules.gpu_here = lambda: {gpu!r}\n"
    )
    (folder / "test_cases.py").write_text(tests)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "tests.conftest", "-p", "no:cacheprovider", *args],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
        env={
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
            # settings of the shell that runs pytest: none may reach a test
            "FERRY_MAX_BATCH_SIZE": "3",
            "BENTOML_HOME": "/nowhere",
            "RAY_ADDRESS": "10.0.0.1:6379",
        },
    )


def test_a_skip_fails_the_run_and_is_listed(tmp_path: Path) -> None:
    done = run_pytest(tmp_path, TESTS, "", "-k", "passes or skips")
    assert done.returncode == pytest.ExitCode.TESTS_FAILED, done.stdout[-3000:]
    assert "3 passed, 1 skipped" in done.stdout  # the shell's settings did not reach them
    assert "SKIPPED test_cases.py::test_skips: the reason it gave" in done.stdout


def test_a_gpu_test_may_skip_only_where_no_gpu_is_present(tmp_path: Path) -> None:
    (tmp_path / "without").mkdir()
    (tmp_path / "with").mkdir()
    without = run_pytest(tmp_path / "without", TESTS, "", "-k", "passes or gpu", "-rs")
    assert without.returncode == pytest.ExitCode.OK, without.stdout[-3000:]
    assert "the NVIDIA driver reports no GPU on this machine" in without.stdout
    present = run_pytest(tmp_path / "with", TESTS, "GPU 0: H100", "-k", "passes or gpu")
    assert present.returncode == pytest.ExitCode.TESTS_FAILED, present.stdout[-3000:]
    assert "test_on_the_gpu: a gpu test that skipped by itself" in present.stdout


def test_no_tests_is_not_a_success(tmp_path: Path) -> None:
    done = run_pytest(tmp_path, TESTS, "", "-k", "nothing_matches_this")
    assert done.returncode == pytest.ExitCode.NO_TESTS_COLLECTED, done.stdout[-3000:]
