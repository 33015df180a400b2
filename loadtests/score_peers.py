"""Whole processes for `ferry bench score`: `ferry score` as a user runs it, and the careful
streaming script (`loadtests/peers/stream_score.py`) on the same file and batches."""

from __future__ import annotations

import subprocess
import sys
import time

from export.registry import Artifact
from service.scoring import ScoreJob


def cli_job(job: ScoreJob) -> float:
    """Wall-clock seconds of `ferry score` on `job`, as a user runs it: a whole process."""
    command = [sys.executable, "-m", "ferry", "score", job.model, "--registry", str(job.registry)]
    command += ["-i", str(job.input), "-o", str(job.output), "--batch-rows", str(job.batch_rows)]
    for column in job.keep or ():
        command += ["--id-col", column]
    return _timed(command)


def careful_script(artifact: Artifact, job: ScoreJob) -> float:
    """Wall-clock seconds of the careful streaming script on the same file and batches."""
    manifest = artifact.manifest
    command = [sys.executable, "-m", "loadtests.peers.stream_score", str(artifact.model_path)]
    command += [str(job.input), str(job.output), "--batch", str(job.batch_rows)]
    if manifest.features:
        command += ["--features", ",".join(manifest.features)]
    else:
        command += ["--input-column", manifest.signature.inputs[0].name]
    for column in job.keep or ():
        command += ["--id", column]
    if manifest.labels:
        command += ["--labels", ",".join(manifest.labels)]
    return _timed(command)


def _timed(command: list[str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command[:4])} failed: {done.stderr[-2000:]}")
    return seconds
