"""Rules every test runs under: a clean environment, and no skip passes for a success.

- Settings come from `FERRY_*` variables (and BentoML's from `BENTOML_*`): whatever the
  shell that runs pytest has set never reaches a test or the servers it starts, and what
  a test sets is gone after it.
- A skipped test fails the run (exit status 1, the skips listed), except a test marked
  `gpu` on a machine where the driver reports no NVIDIA GPU. ONNX Runtime's own lists are
  no evidence: onnxruntime-gpu names CUDA as available on any machine, so "no GPU" is
  what the kernel driver says (`/proc/driver/nvidia/gpus`, `nvidia-smi -L`). Where a GPU
  is present, `gpu` tests run, and fail if ONNX Runtime cannot use it.
- Versions read from remote registries are cached in a folder of the session, and the
  `s3_server` fixture gives one real S3 endpoint (moto) for the session.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

from tests.support.s3 import S3Server, moto_server

#: Variables that change what the code under test does; cleared for the whole session.
PREFIXES = ("FERRY_", "BENTOML_")
#: `ferry score --engine ray` would join a cluster at this address.
NAMES = ("RAY_ADDRESS",)

_skips: list[tuple[str, str]] = []
#: Variables session fixtures set (the S3 endpoint): they outlive the test that started them.
SESSION_ENV: dict[str, str] = {}


def leaks(name: str) -> bool:
    """Whether environment variable `name` would change what the code under test does."""
    return name.startswith(PREFIXES) or name in NAMES


@cache
def gpu_here() -> str:
    """What says an NVIDIA GPU is on this machine, or "" when nothing does."""
    listed = Path("/proc/driver/nvidia/gpus")
    if listed.is_dir() and any(listed.iterdir()):
        return f"the driver lists {', '.join(p.name for p in listed.iterdir())}"
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return ""
    try:
        out = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return ""
    gpus = [line for line in out.splitlines() if line.startswith("GPU ")]
    return f"nvidia-smi -L: {gpus[0]}" if gpus else ""


@pytest.fixture(scope="session", autouse=True)
def _no_settings_from_outside() -> Iterator[None]:
    """Session-wide, so session fixtures (trained models, servers) start clean too."""
    with pytest.MonkeyPatch.context() as patch:
        for name in [n for n in os.environ if leaks(n)]:
            patch.delenv(name)
        patch.setenv("BENTOML_DO_NOT_TRACK", "true")  # no usage reports from test servers
        yield


@pytest.fixture(autouse=True)
def _environment_restored() -> Iterator[None]:
    """What a test sets in `os.environ`, with monkeypatch or without, is gone after it."""
    before = dict(os.environ)
    yield
    after = {**before, **SESSION_ENV}  # a session fixture first used by this test stays set
    if dict(os.environ) != after:
        os.environ.clear()
        os.environ.update(after)
    # `FERRY_TEXT_MAX_CHARS` is read once per process; a test that set it must not leak it
    inputs = sys.modules.get("service.runtime.text.inputs")
    if inputs is not None:
        inputs.max_chars.cache_clear()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked `gpu` are skipped, with the reason, where no GPU is present."""
    if gpu_here():
        return
    skip = pytest.mark.skip(reason="gpu: the NVIDIA driver reports no GPU on this machine")
    for item in items:
        if item.get_closest_marker("gpu") is not None:
            item.add_marker(skip)


def allowed_skip(report: pytest.TestReport) -> bool:
    """Only a `gpu` test on a machine without a GPU may skip."""
    return "gpu" in report.keywords and not gpu_here()


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped and not hasattr(report, "wasxfail") and not allowed_skip(report):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        _skips.append((report.nodeid, reason.removeprefix("Skipped: ")))


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _skips and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not _skips:
        return
    terminalreporter.section("skips fail the run (tests/conftest.py)", red=True)
    for nodeid, reason in _skips:
        terminalreporter.line(f"SKIPPED {nodeid}: {reason}", red=True)
    terminalreporter.line(
        f"{len(_skips)} test(s) skipped; only tests marked gpu may skip, on a machine without one"
    )


@pytest.fixture(scope="session", autouse=True)
def _cache_dir(
    _no_settings_from_outside: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[None]:
    """Versions read from remote registries go to a folder of the session, not ~/.cache."""
    saved = os.environ.get("FERRY_CACHE_DIR")
    os.environ["FERRY_CACHE_DIR"] = str(tmp_path_factory.mktemp("ferry-cache"))
    yield
    if saved is None:
        os.environ.pop("FERRY_CACHE_DIR", None)
    else:
        os.environ["FERRY_CACHE_DIR"] = saved


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """One real S3 endpoint (moto) for the session, reached through the standard AWS
    variables, which are set for this process and the processes it starts."""
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    with moto_server(log) as server:
        saved = {k: os.environ.get(k) for k in [*server.env(), "AWS_PROFILE"]}
        os.environ.pop("AWS_PROFILE", None)
        os.environ.update(server.env())
        SESSION_ENV.update(server.env())
        try:
            yield server
        finally:
            for key in server.env():
                SESSION_ENV.pop(key, None)
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
