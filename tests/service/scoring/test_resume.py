"""Killed jobs resume and changed jobs start afresh; one process at a time per job.

A job killed (`kill -9`) at a part boundary or in the middle of a part resumes from its
last whole part and writes exactly the output of an uninterrupted run. A job whose work
folder key changed between the crash and the rerun (model version, input size or mtime,
arguments) must not take a single saved output: saved outputs are poisoned after the
crash, so a wrong resumption shows in the values.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from export.registry import Artifact, Registry
from service.scoring import job as job_module
from service.scoring.job import CRASH_AFTER_PARTS, ScoreJob, run_local
from service.scoring.parts import OutputStore
from tests.service.scoring.conftest import N_FEATURES, table
from tests.support.onnx_models import linear_softmax, publish_linear, reference

ROWS = 100  # rows per part in these tests

# `ferry score` with a fault injected at one point of part PART: "run" (the model is
# computing it), "save" (its outputs file is half written), "write" (half its rows are in
# the output), or "pause" (after it, until the file GO exists; bounded).
FAULTY = """
import io, os, signal, sys, time
from pathlib import Path
import numpy as np

where, part, rows, folder = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4])
calls = [0]


def kill():
    os.kill(os.getpid(), signal.SIGKILL)


def nth():
    calls[0] += 1
    return calls[0] == part + 1


if where == "run":
    from service.runtime.model import ModelRuntime
    real_run = ModelRuntime.run

    def run(self, inputs):
        if len(next(iter(inputs.values()))) == rows and nth():  # not a warm-up batch
            kill()
        return real_run(self, inputs)

    ModelRuntime.run = run
elif where == "save":
    real_write = np.lib.format.write_array

    def write_array(handle, array, *args, **kwargs):
        if nth():
            buffer = io.BytesIO()
            real_write(buffer, array, *args, **kwargs)
            handle.write(buffer.getvalue()[: len(buffer.getvalue()) // 2])
            handle.flush()
            kill()
        return real_write(handle, array, *args, **kwargs)

    np.lib.format.write_array = write_array
elif where == "write":
    from service.scoring.writer import TableSink
    real_sink = TableSink.write

    def write(self, data):
        if data.num_rows and self.path.name.startswith("output") and nth():
            real_sink(self, data.slice(0, data.num_rows // 2))
            kill()
        return real_sink(self, data)

    TableSink.write = write
elif where == "pause":
    import service.scoring.job as job

    def pause(parts):
        if parts == part + 1:
            (folder / "paused").touch()
            deadline = time.monotonic() + 60
            while not (folder / "go").exists() and time.monotonic() < deadline:
                time.sleep(0.01)

    job.maybe_crash = pause

from ferry.cli import main
sys.argv = ["ferry", *sys.argv[5:]]
main()
"""


def cli_args(job: ScoreJob) -> list[str]:
    args = ["score", job.model, "-i", str(job.input), "-o", str(job.output)]
    return [*args, "--registry", str(job.registry), "--batch-rows", str(job.batch_rows)]


def ferry_score(job: ScoreJob, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ferry", *cli_args(job)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "200", **env},
    )


def faulty(job: ScoreJob, where: str, part: int, folder: Path) -> list[str]:
    """The command line of `ferry score` with a fault at `where` in part `part`."""
    fault = [where, str(part), str(job.batch_rows), str(folder)]
    return [sys.executable, "-c", FAULTY, *fault, *cli_args(job)]


def want(data: pa.Table, seed: int = 0) -> np.ndarray:
    """The model's probabilities for `data`, computed in numpy from its known weights."""
    _, w, b = linear_softmax(N_FEATURES, 2, seed)
    return reference(np.stack([data[f"f{i}"].to_numpy() for i in range(N_FEATURES)], axis=1), w, b)


def probabilities(path: Path) -> np.ndarray:
    out = pq.read_table(path)
    return np.stack([out["probabilities_0"], out["probabilities_1"]], axis=1)


def test_a_killed_job_resumes_and_matches_a_clean_run(linear: Artifact, tmp_path: Path) -> None:
    pacsv.write_csv(table(1000), tmp_path / "in.csv")
    text = (tmp_path / "in.csv").read_text().splitlines()
    text[50] = text[50].replace(text[50].split(",")[2], "oops")  # part 0: a bad value
    text[777] = "1,2"  # part 7: a malformed line
    (tmp_path / "in.csv").write_text("\n".join(text) + "\n")
    registry = linear.path.parents[1]
    clean = run_local(
        ScoreJob("lin", tmp_path / "in.csv", tmp_path / "clean.parquet", registry, batch_rows=ROWS)
    )
    job = ScoreJob("lin", tmp_path / "in.csv", tmp_path / "out.parquet", registry, batch_rows=ROWS)

    crashed = ferry_score(job, **{CRASH_AFTER_PARTS: "3"})
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr[-2000:]
    assert not job.output.exists() and not job.rejects_path.exists()
    (work,) = tmp_path.glob(".out.parquet.ferry-*")
    assert sorted(p.name for p in work.glob("outputs-*")) == [
        f"outputs-00000{i}.npy" for i in range(3)
    ]
    torn = (work / "outputs-000002.npy").read_bytes()
    (work / "outputs-000002.npy").write_bytes(torn[:-10])  # as if power failed mid-write

    resumed = ferry_score(job)
    assert resumed.returncode == 3, resumed.stderr[-2000:]
    assert "resumed after 2 parts" in resumed.stdout + resumed.stderr
    assert pq.read_table(job.output).equals(pq.read_table(clean.output))
    assert pq.read_table(job.rejects_path).equals(pq.read_table(clean.rejects))
    assert pq.read_table(job.output).num_rows == clean.rows_scored == 998
    assert not work.exists()


@pytest.mark.parametrize(
    ("where", "resumed"),
    # killed in part 3. The model runs ahead of the writer that saves outputs, so a kill
    # while it computes part 3 leaves parts 0..2 saved or fewer (None: any whole prefix).
    [("run", None), ("save", 3), ("write", 4)],
)
def test_a_job_killed_in_the_middle_of_a_part_resumes_from_its_last_whole_part(
    linear: Artifact, tmp_path: Path, where: str, resumed: int | None
) -> None:
    data = table(1000, seed=3)
    pq.write_table(data, tmp_path / "in.parquet", row_group_size=130)
    registry = linear.path.parents[1]
    job = ScoreJob(
        "lin", tmp_path / "in.parquet", tmp_path / "out.parquet", registry, None, None, ROWS
    )

    killed = subprocess.run(faulty(job, where, 3, tmp_path), capture_output=True, timeout=120)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    (work,) = tmp_path.glob(".out.parquet.ferry-*")
    saved = sorted(p.name for p in work.glob("outputs-*.npy"))
    resumed = len(saved) if resumed is None else resumed
    assert saved == [f"outputs-{i:06d}.npy" for i in range(resumed)] and resumed <= 4
    if where == "save":
        assert list(work.glob("outputs-000003.tmp")), "the torn write was not where expected"
    assert not job.output.exists()

    result = run_local(job)
    assert result.resumed_parts == resumed and result.rows_scored == 1000
    clean = run_local(replace(job, output=tmp_path / "clean.parquet"))
    assert pq.read_table(job.output).equals(pq.read_table(clean.output))
    np.testing.assert_allclose(probabilities(job.output), want(data), rtol=1e-5, atol=1e-6)
    assert not work.exists()


class Crash(Exception):
    """Stands for a kill: the work folder stays as the job left it."""


def crash_after(parts: int) -> Callable[[int], None]:
    def maybe_crash(done: int) -> None:
        if done >= parts:
            raise Crash(f"after {done} parts")

    return maybe_crash


def poison(folder: Path) -> None:
    """Saved outputs no run of the model gives: taken by a rerun, they show in its output."""
    store = OutputStore(folder)
    for index in range(store.count()):
        store.save(index, {"probabilities": np.full((ROWS, 2), 0.25, dtype=np.float32)})


def same(job: ScoreJob, tmp: Path) -> tuple[ScoreJob, pa.Table, int]:
    return job, table(1000), 0


def newer_model(job: ScoreJob, tmp: Path) -> tuple[ScoreJob, pa.Table, int]:
    publish_linear(Registry(job.registry), "lin", n_features=N_FEATURES, seed=1)  # lin:2 serves
    return job, table(1000), 1


def touched(job: ScoreJob, tmp: Path) -> tuple[ScoreJob, pa.Table, int]:
    stat = job.input.stat()
    os.utime(job.input, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # same bytes
    return job, table(1000), 0


def grown(job: ScoreJob, tmp: Path) -> tuple[ScoreJob, pa.Table, int]:
    stat = job.input.stat()
    data = table(1001)
    pacsv.write_csv(data, job.input)
    os.utime(job.input, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # same mtime, new size
    return job, data, 0


def other_parts(job: ScoreJob, tmp: Path) -> tuple[ScoreJob, pa.Table, int]:
    return replace(job, batch_rows=2 * ROWS), table(1000), 0


def other_columns(job: ScoreJob, tmp: Path) -> tuple[ScoreJob, pa.Table, int]:
    return replace(job, keep=("id",)), table(1000), 0


def other_rejects(job: ScoreJob, tmp: Path) -> tuple[ScoreJob, pa.Table, int]:
    return replace(job, rejects=tmp / "elsewhere.parquet"), table(1000), 0


@pytest.mark.parametrize(
    "change", [newer_model, touched, grown, other_parts, other_columns, other_rejects]
)
def test_a_job_changed_after_a_crash_starts_afresh(
    linear: Artifact,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    change: Callable[[ScoreJob, Path], tuple[ScoreJob, pa.Table, int]],
) -> None:
    pacsv.write_csv(table(1000), tmp_path / "in.csv")
    job = ScoreJob("lin", tmp_path / "in.csv", tmp_path / "out.parquet", linear.path.parents[1])
    job = replace(job, batch_rows=ROWS)
    with monkeypatch.context() as patch:
        patch.setattr(job_module, "maybe_crash", crash_after(3))
        with pytest.raises(Crash):
            run_local(job)
    (work,) = tmp_path.glob(".out.parquet.ferry-*")
    poison(work)

    rerun, data, seed = change(job, tmp_path)
    result = run_local(rerun)

    assert result.resumed_parts == 0 and result.rows_this_run == data.num_rows
    np.testing.assert_allclose(probabilities(rerun.output), want(data, seed), rtol=1e-5, atol=1e-6)
    versions = {str(v) for v in pq.read_table(rerun.output)["model_version"].to_pylist()}
    assert versions == {str(seed + 1)}
    assert not list(tmp_path.glob(".out.parquet.ferry-*"))  # the stale folder went too


def test_the_same_job_after_a_crash_takes_its_saved_outputs(
    linear: Artifact, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The control for the test above: unchanged, the rerun takes the poisoned parts."""
    pacsv.write_csv(table(1000), tmp_path / "in.csv")
    job = ScoreJob("lin", tmp_path / "in.csv", tmp_path / "out.parquet", linear.path.parents[1])
    job = replace(job, batch_rows=ROWS)
    with monkeypatch.context() as patch:
        patch.setattr(job_module, "maybe_crash", crash_after(3))
        with pytest.raises(Crash):
            run_local(job)
    (work,) = tmp_path.glob(".out.parquet.ferry-*")
    poison(work)
    result = run_local(job)
    assert result.resumed_parts == 3 and result.rows_this_run == 700
    got = probabilities(job.output)
    assert (got[:300] == 0.25).all()
    np.testing.assert_allclose(got[300:], want(table(1000))[300:], rtol=1e-5, atol=1e-6)


def wait_for(path: Path, proc: subprocess.Popen[str], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert proc.poll() is None, proc.communicate()[1][-2000:]
        assert time.monotonic() < deadline, f"{path.name} did not appear in {timeout} s"
        time.sleep(0.01)


def test_a_second_process_on_the_same_job_is_refused(linear: Artifact, tmp_path: Path) -> None:
    data = table(1000, seed=4)
    pq.write_table(data, tmp_path / "in.parquet")
    job = ScoreJob("lin", tmp_path / "in.parquet", tmp_path / "out.parquet", linear.path.parents[1])
    job = replace(job, batch_rows=ROWS)
    first = subprocess.Popen(
        faulty(job, "pause", 1, tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        wait_for(tmp_path / "paused", first)  # the first job holds its lock, 2 parts done
        second = ferry_score(job)
        assert second.returncode == 1, second.stderr[-2000:]
        assert "another process is writing" in " ".join((second.stdout + second.stderr).split())
        (work,) = tmp_path.glob(".out.parquet.ferry-*")
        assert sorted(p.name for p in work.glob("outputs-*.npy")) == [
            "outputs-000000.npy",
            "outputs-000001.npy",
        ]  # the refused process touched nothing
        (tmp_path / "go").touch()
        _, err = first.communicate(timeout=120)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    assert first.returncode == 0, err[-2000:]
    np.testing.assert_allclose(probabilities(job.output), want(data), rtol=1e-5, atol=1e-6)
    assert not job.output.with_name("out.rejects.parquet").exists() or (
        pq.read_table(job.rejects_path).num_rows == 0
    )
