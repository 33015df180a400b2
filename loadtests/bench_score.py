"""`ferry bench score`: batch scoring figures, all measured in one run.

- local engine rows/s against a bare ONNX Runtime loop over the same rows, already in
  memory as one array, at the same batch size, on a session with every core this
  process may use (goal for compute-bound models: at least 0.85 of it). They take
  turns `repeat` times and the figure is the median of the turns' ratios: on a machine
  shared with other work one pair can be off by a fifth either way. Also the CPU
  seconds each spends per million rows (steadier than rates on a machine shared with
  other work, and what bounds the engine when reading, scoring and writing share the cores);
- whole processes, wall clock from start to exit: `ferry score` (interpreter, imports,
  planning, validation, rejects, resumable parts, publishing) against the careful
  streaming script a user would write (`loadtests/peers/stream_score.py`), in the same
  turns (goal for the tabular model: the script's time / ferry's >= 1.0);
- peak RSS of a job over N rows against one over N/10 rows, each in a child process
  of its own (goal: at most 1.5 times);
- the Ray engine on this machine: rows/s, and its time against the local engine's;
- the same for the digits model when the registry has one.

Each job runs in a fresh child process (`python -m loadtests.bench_score child ...`),
so its peak RSS is its own and no data set of the parent is counted.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from export.manifest import Manifest
from export.registry import Registry
from loadtests import score_text, thresholds
from loadtests.score_peers import careful_script, cli_job
from service.runtime import ModelRuntime, RuntimeSettings, available_cores
from service.scoring import ScoreJob, Source, plan_columns, prepare, run_local

ROW_GROUP = 65536
GOALS = thresholds.goals("score")
LOCAL_GOAL = GOALS["local_vs_bare"]
RSS_GOAL = GOALS["rss_ratio"]
CAREFUL_GOAL = GOALS["tabular_vs_careful_script"]


@dataclass
class ModelFigures:
    """Figures of one model, measured in one run."""

    model: str
    rows: int
    batch_rows: int
    bare_rows_per_s: float = 0.0
    bare_cpu_seconds: float = 0.0
    read_convert_rows_per_s: float = 0.0
    local_rows_per_s: float = 0.0
    local_seconds: float = 0.0
    local_cpu_seconds: float = 0.0
    local_peak_rss_mb: float = 0.0
    small_rows: int = 0
    small_peak_rss_mb: float = 0.0
    ray_rows_per_s: float | None = None
    ray_seconds: float | None = None
    ray_start_seconds: float | None = None
    # local / bare of each turn, bare measured just before the local job.
    turn_ratios: list[float] = field(default_factory=list)
    bare_threads: int = 1  # the bare loop's: every core this process may use
    local_threads: int = 1  # what the job's placement gave the model
    compute_bound: bool = False  # the job counted the model compute-bound (its placement)
    # whole processes, wall clock: `ferry score` and the careful script, per turn
    cli_seconds: list[float] = field(default_factory=list)
    careful_seconds: list[float] = field(default_factory=list)

    @property
    def local_vs_bare(self) -> float:
        """Local engine rows/s over bare ONNX Runtime rows/s (goal >= 0.85): the median turn."""
        if self.turn_ratios:
            return _median(self.turn_ratios)
        return self.local_rows_per_s / self.bare_rows_per_s

    @property
    def careful_vs_cli(self) -> float | None:
        """The careful script's wall clock over `ferry score`'s (>= 1: ferry is faster):
        the median turn."""
        pairs = zip(self.careful_seconds, self.cli_seconds, strict=True)
        return _median([c / f for c, f in pairs]) if self.cli_seconds else None

    @property
    def bare_cpu_per_million(self) -> float:
        """CPU seconds the bare loop spends per million rows."""
        return self.bare_cpu_seconds * 1e6 / self.rows

    @property
    def local_cpu_per_million(self) -> float:
        """CPU seconds (all threads) the local engine spends per million rows, whole job."""
        return self.local_cpu_seconds * 1e6 / self.rows

    @property
    def rss_ratio(self) -> float | None:
        """Peak RSS for all rows over peak RSS for a tenth of them (goal <= 1.5)."""
        return self.local_peak_rss_mb / self.small_peak_rss_mb if self.small_rows else None

    @property
    def ray_overhead(self) -> float | None:
        """Ray engine time over local engine time for the same job."""
        return None if self.ray_seconds is None else self.ray_seconds / self.local_seconds


@dataclass
class Report:
    """Every model's figures plus what was skipped and why."""

    models: list[ModelFigures] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Plain data, with the ratios, for `--json`."""
        rows = []
        for m in self.models:
            ratios = {
                "local_vs_bare": m.local_vs_bare,
                "careful_vs_cli": m.careful_vs_cli,
                "rss_ratio": m.rss_ratio,
                "bare_cpu_per_million": m.bare_cpu_per_million,
                "local_cpu_per_million": m.local_cpu_per_million,
            }
            rows.append({**asdict(m), **ratios, "ray_overhead": m.ray_overhead})
        return {"models": rows, "notes": self.notes, "checks": self.checks()}

    def checks(self) -> list[thresholds.Check]:
        """The goals of `thresholds.toml [score]`, each with its measured figure."""
        results = []
        for m in self.models:
            if m.compute_bound:
                results.append(
                    thresholds.at_least(f"{m.model}: local / bare", m.local_vs_bare, LOCAL_GOAL)
                )
            if m.rss_ratio is not None:
                results.append(thresholds.at_most(f"{m.model}: RSS ratio", m.rss_ratio, RSS_GOAL))
        tabular = self.models[0] if self.models else None
        if tabular is not None and tabular.careful_vs_cli is not None:
            results.append(
                thresholds.at_least(
                    f"{tabular.model}: careful script / ferry score, wall clock",
                    tabular.careful_vs_cli,
                    CAREFUL_GOAL,
                )
            )
        return results

    @property
    def passed(self) -> bool:
        return all(ok for *_, ok in self.checks())


def write_input(manifest: Manifest, path: Path, rows: int, seed: int = 0) -> None:
    """A synthetic Parquet file the model can score: an `id`, then its input columns.

    Tabular models get one float32 column per feature; others one list column per input
    (e.g. 64 pixel values per row for an 8x8 image). Written in row groups of 65,536.
    """
    rng = np.random.default_rng(seed)
    with pq.ParquetWriter(path, _schema(manifest)) as writer:
        for start in range(0, rows, ROW_GROUP):
            count = min(ROW_GROUP, rows - start)
            columns = [pa.array(np.arange(start, start + count))]
            columns += _columns(manifest, rng, count)
            writer.write_table(pa.table(columns, schema=_schema(manifest)))


def load_inputs(manifest: Manifest, path: Path) -> dict[str, np.ndarray]:
    """The file's rows as the model's input arrays, all in memory (for the bare loop)."""
    schema = pq.read_schema(path)
    plan = plan_columns(manifest, schema, ["id"])
    table = pq.read_table(path, columns=plan.read.names)
    return prepare(table.combine_chunks().to_batches()[0], plan).inputs


def bare_onnxruntime(
    runtime: ModelRuntime, inputs: dict[str, np.ndarray], batch: int
) -> tuple[float, float]:
    """Rows/s of `session.run` alone over in-memory arrays, `batch` rows at a time, and
    the CPU seconds it took (a text model: over texts tokenised beforehand, in the
    batches of similar length the job runs)."""
    if runtime.text is not None:
        return score_text.bare(runtime, inputs, batch)
    rows = len(next(iter(inputs.values())))
    runtime.session.run(None, {k: v[:batch] for k, v in inputs.items()})
    started, cpu = time.perf_counter(), time.process_time()
    for start in range(0, rows, batch):
        runtime.session.run(None, {k: v[start : start + batch] for k, v in inputs.items()})
    return rows / (time.perf_counter() - started), time.process_time() - cpu


def read_convert(manifest: Manifest, path: Path, batch: int) -> float:
    """Rows/s of reading the file and building model inputs, without the model."""
    source = Source.open(path)
    plan = plan_columns(manifest, source.schema(), ["id"])
    started, rows = time.perf_counter(), 0
    for part in source.parts(plan.read, batch):
        rows += len(next(iter(prepare(part, plan).inputs.values())))
    return rows / (time.perf_counter() - started)


def every_core() -> RuntimeSettings:
    """One session on every core this process may use: the bare loop's ceiling."""
    return RuntimeSettings(
        intra_op_threads=available_cores(), instances=1, model_threads={}, model_instances={}
    )


def local_job(job: ScoreJob) -> dict[str, float]:
    """Run the local engine on `job` in a child process: its rows/s, time and peak RSS."""
    fields = ("model", "input", "output", "registry", "batch_rows")
    args = json.dumps({k: str(getattr(job, k)) for k in fields})
    done = subprocess.run(
        [sys.executable, "-m", "loadtests.bench_score", "child", args],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"benchmark job failed: {done.stderr[-2000:]}")
    figures: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def ray_job(job: ScoreJob) -> tuple[float, float, float]:
    """(rows/s, job seconds, Ray start seconds) of the Ray engine on `job`."""
    from service.scoring import ScoreSettings, connect, run_ray

    settings = ScoreSettings()
    started = time.perf_counter()
    ray = connect(settings)
    start_seconds = time.perf_counter() - started
    try:
        result = run_ray(job, settings)
    finally:
        ray.shutdown()
    return result.rows_per_second, result.seconds, start_seconds


def bench_model(
    registry: Registry,
    model: str,
    rows: int,
    batch_rows: int,
    workdir: Path,
    small_rows: int = 0,
    with_ray: bool = False,
    repeat: int = 3,
    whole_process: bool = True,
) -> ModelFigures:
    """All figures of one model on a synthetic file of `rows` rows.

    The bare loop and the local job (and with `whole_process`, `ferry score` and the
    careful script) take `repeat` turns; rates and CPU are the medians.
    """
    artifact = registry.get(model)
    manifest = artifact.manifest
    figures = ModelFigures(manifest.name, rows, batch_rows, small_rows=small_rows)
    data = workdir / f"{manifest.name}-{rows}.parquet"
    runtime = ModelRuntime.load(artifact, every_core())
    figures.bare_threads = runtime.placement.threads
    if runtime.text is None:
        write_input(manifest, data, rows)
    else:
        score_text.write_input(runtime, data, rows)
    inputs = load_inputs(manifest, data)
    figures.read_convert_rows_per_s = read_convert(manifest, data, batch_rows)
    job = ScoreJob(model, data, workdir / f"{manifest.name}-scored.parquet", registry.url)
    job = ScoreJob(**{**asdict(job), "keep": ("id",), "batch_rows": batch_rows})
    whole = ScoreJob(**{**asdict(job), "output": workdir / f"{manifest.name}-cli.parquet"})
    careful = ScoreJob(**{**asdict(job), "output": workdir / f"{manifest.name}-careful.parquet"})
    bares, locals_ = [], []
    for _ in range(repeat):
        bares.append(bare_onnxruntime(runtime, inputs, batch_rows))
        locals_.append(local_job(job))
        figures.turn_ratios.append(locals_[-1]["rows_per_s"] / bares[-1][0])
        if whole_process:
            figures.cli_seconds.append(cli_job(whole))
            figures.careful_seconds.append(careful_script(artifact, careful))
    del inputs
    figures.local_threads = int(locals_[-1]["threads"])
    figures.compute_bound = bool(locals_[-1]["compute_bound"])
    figures.bare_rows_per_s = _median([rate for rate, _ in bares])
    figures.bare_cpu_seconds = _median([cpu for _, cpu in bares])
    for key, name in [
        ("rows_per_s", "local_rows_per_s"),
        ("seconds", "local_seconds"),
        ("cpu_seconds", "local_cpu_seconds"),
        ("peak_rss_mb", "local_peak_rss_mb"),
    ]:
        setattr(figures, name, _median([run[key] for run in locals_]))
    if small_rows:
        small = workdir / f"{manifest.name}-{small_rows}.parquet"
        write_input(manifest, small, small_rows)
        out = workdir / f"{manifest.name}-small-scored.parquet"
        small_job = ScoreJob(**{**asdict(job), "input": small, "output": out})
        figures.small_peak_rss_mb = local_job(small_job)["peak_rss_mb"]
    if with_ray:
        out = workdir / f"{manifest.name}-ray-scored.parquet"
        ray_rate, ray_seconds, ray_start = ray_job(ScoreJob(**{**asdict(job), "output": out}))
        figures.ray_rows_per_s, figures.ray_seconds = ray_rate, ray_seconds
        figures.ray_start_seconds = ray_start
    return figures


def _median(values: list[float]) -> float:
    return float(np.median(values))


def run(
    registry: Registry,
    workdir: Path,
    tabular: str = "tabular",
    digits: str = "digits",
    rows: int = 2_000_000,
    digits_rows: int = 200_000,
    batch_rows: tuple[int, int] = (65536, 16384),
    with_ray: bool = True,
    repeat: int = 3,
    text: str = "text-embed",
    text_rows: int = 500,
    text_batch_rows: int = 250,
) -> Report:
    """The whole benchmark: the tabular model, then the digits and text models if the
    registry has them (the text model without Ray and whole-process runs: its goal is
    against the bare loop, and a turn takes a while).

    `batch_rows` is (tabular, digits): a CNN's activations grow with the batch, so its
    batches are smaller. The bare loop always runs at the job's batch size.
    """
    report = Report()
    if with_ray and not _has_ray():
        with_ray = False
        report.notes.append("ray is not installed (pip install 'ferry[ray]'): no Ray figures")
    workdir.mkdir(parents=True, exist_ok=True)
    # Synthetic files run to gigabytes: they live only as long as the benchmark.
    with tempfile.TemporaryDirectory(prefix="bench-score-", dir=workdir) as tmp:
        scratch = Path(tmp)
        report.models.append(
            bench_model(
                registry, tabular, rows, batch_rows[0], scratch, rows // 10, with_ray, repeat
            )
        )
        if registry.versions(digits):
            report.models.append(
                bench_model(
                    registry, digits, digits_rows, batch_rows[1], scratch, 0, with_ray, repeat
                )
            )
        else:
            report.notes.append(f"no {digits!r} model in {registry.url}: no digits figures")
        if text and registry.versions(text):
            report.models.append(
                bench_model(
                    registry, text, text_rows, text_batch_rows, scratch, 0, False, repeat, False
                )
            )
        elif text:
            report.notes.append(f"no {text!r} model in {registry.url}: no text figures")
    return report


def _schema(manifest: Manifest) -> pa.Schema:
    fields = [pa.field("id", pa.int64())]
    if manifest.features:
        return pa.schema(fields + [pa.field(f, pa.float32()) for f in manifest.features])
    for spec in manifest.signature.inputs:
        fields.append(pa.field(spec.name, pa.list_(pa.float32())))
    return pa.schema(fields)


def _columns(manifest: Manifest, rng: np.random.Generator, count: int) -> list[pa.Array]:
    if manifest.features:
        values = rng.normal(size=(count, len(manifest.features))).astype(np.float32)
        return [pa.array(values[:, j]) for j in range(values.shape[1])]
    columns = []
    for spec in manifest.signature.inputs:
        width = int(np.prod(spec.shape[1:]))
        flat = rng.uniform(0, 16, size=count * width).astype(np.float32)
        offsets = pa.array(np.arange(0, (count + 1) * width, width, dtype=np.int32))
        columns.append(pa.ListArray.from_arrays(offsets, pa.array(flat)))
    return columns


def _has_ray() -> bool:
    try:
        import ray  # noqa: F401
    except ImportError:
        return False
    return True


def _child(args: dict[str, str]) -> None:
    job = ScoreJob(
        model=args["model"],
        input=Path(args["input"]),
        output=Path(args["output"]),
        registry=args["registry"],
        keep=("id",),
        batch_rows=int(args["batch_rows"]),
    )
    cpu = time.process_time()
    result = run_local(job)
    figures = {
        "rows_per_s": result.rows_per_second,
        "seconds": result.seconds,
        "cpu_seconds": time.process_time() - cpu,
        "peak_rss_mb": peak_rss_kib() / 1024,
        "threads": result.threads,
        "compute_bound": bool(result.compute_bound),
    }
    print(json.dumps(figures))


def peak_rss_kib() -> int:
    """This process's peak resident set since it started (KiB).

    VmHWM, not `getrusage().ru_maxrss`: Linux carries ru_maxrss over from the parent
    across fork and exec, so a child would report the benchmark's own large arrays.
    """
    status = Path("/proc/self/status")
    if status.is_file():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "child":
        _child(json.loads(sys.argv[2]))
    else:
        sys.exit("usage: python -m loadtests.bench_score child JOB_JSON (or: ferry bench score)")
