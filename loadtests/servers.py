"""Start a service in a child process on a free loopback port and wait until it is ready."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil

FERRY = "service.app:Ferry"


@dataclass
class Started:
    url: str
    pid: int
    ready_s: float  # process start to first 200 from the readiness path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running_service(
    registry: Path | str,
    log: Path,
    target: str = FERRY,
    timeout: float = 90.0,
    wait_for: str = "/readyz",
    **env: str,
) -> Iterator[str]:
    """A BentoML service (`bentoml serve TARGET`) on `registry` (a folder or a registry URL);
    yields the base URL once `wait_for` answers 200 (`/livez` for a service expected never
    to be ready)."""
    with running_server("bentoml", target, registry, log, timeout, wait_for, **env) as started:
        yield started.url


@contextmanager
def running_server(
    kind: str,
    target: str,
    registry: Path | str,
    log: Path,
    timeout: float = 90.0,
    wait_for: str = "/readyz",
    **env: str,
) -> Iterator[Started]:
    """`kind` is "bentoml" (`bentoml serve`) or "uvicorn" (a plain ASGI app)."""
    port = free_port()
    environ = {**os.environ, "FERRY_REGISTRY": str(registry), **env}
    # One home per server: BentoML clears its Prometheus folder there at start, which
    # would wipe the metrics of another server still running beside it.
    environ.setdefault("BENTOML_HOME", str(log.parent / f"bentoml-home-{port}"))
    # ferry's gRPC port too: the default (8001) would clash between servers side by side.
    environ.setdefault("FERRY_GRPC_PORT", str(free_port()))
    where = ["--host", "127.0.0.1", "--port", str(port)]
    if kind == "bentoml":
        cmd = [sys.executable, "-m", "bentoml", "serve", target, *where]
    else:
        cmd = [
            sys.executable,
            "-m",
            "uvicorn",
            target,
            *where,
            "--no-access-log",
            "--log-level",
            "warning",
        ]
    started = time.perf_counter()
    with log.open("w") as out:
        proc = subprocess.Popen(
            cmd, env=environ, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, proc, log, timeout, wait_for)
        yield Started(url, proc.pid, time.perf_counter() - started)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def wait_ready(
    url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float, path: str = "/readyz"
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"service exited with {proc.returncode}:\n{log.read_text()[-4000:]}")
        try:
            if httpx.get(f"{url}{path}", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"service not ready after {timeout}s:\n{log.read_text()[-4000:]}")


def wait_listening(
    port: int, proc: subprocess.Popen[bytes], log: Path, timeout: float = 30.0
) -> None:
    """Wait until something accepts connections on 127.0.0.1:`port` (a server that speaks
    no HTTP health route, gRPC say); raise with the log's tail if `proc` exits first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}:\n{log.read_text()[-4000:]}")
        with suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port} after {timeout}s")


def process_tree(pid: int) -> list[psutil.Process]:
    """A started server's process and every process below it."""
    root = psutil.Process(pid)
    return [root, *root.children(recursive=True)]


def cpu_seconds(tree: list[psutil.Process]) -> float:
    """User and system seconds the processes have spent (those gone count nothing)."""
    total = 0.0
    for proc in tree:
        try:
            times = proc.cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return total
