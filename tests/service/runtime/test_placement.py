"""Threads and instances per model: settings, the auto policy, and what a loaded model gets."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from export.registry import Artifact
from service.runtime import ModelRuntime
from service.runtime.cores import available_cores
from service.runtime.placement import decide, needs_probe
from service.runtime.settings import RuntimeSettings
from service.scoring.settings import ScoreSettings, scoring_runtime

CPU = ["CPUExecutionProvider"]
GPU = ["CUDAExecutionProvider", "CPUExecutionProvider"]


def settings(**values: object) -> RuntimeSettings:
    return RuntimeSettings(providers=CPU, **values)  # type: ignore[arg-type]


def test_per_model_counts_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FERRY_MODEL_THREADS", "text-embed:2, tabular:auto")
    monkeypatch.setenv("FERRY_MODEL_INSTANCES", '{"text-embed": 3}')
    monkeypatch.setenv("FERRY_INTRA_OP_THREADS", "4")
    read = RuntimeSettings()
    assert read.model_threads == {"text-embed": 2, "tabular": "auto"}
    assert read.model_instances == {"text-embed": 3}
    assert (read.intra_op_threads, read.instances) == (4, "auto")


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("FERRY_MODEL_THREADS", "text-embed", "expected MODEL:COUNT pairs"),
        ("FERRY_MODEL_THREADS", "text-embed:0", "greater than or equal to 1"),
        ("FERRY_MODEL_INSTANCES", "digits:many", "digits"),
        ("FERRY_INTRA_OP_THREADS", "0", "intra_op_threads"),
        ("FERRY_INSTANCES", "some", "instances"),
    ],
)
def test_a_bad_count_is_refused_naming_it(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, says: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValidationError, match=says):
        RuntimeSettings()


def test_a_small_model_keeps_one_thread_and_one_instance() -> None:
    placed = decide(settings(), "tabular", row_us=0.8, cores=16, providers=CPU)
    assert (placed.threads, placed.instances, placed.compute_bound) == (1, 1, False)


@pytest.mark.parametrize(
    ("cores", "threads", "instances"), [(1, 1, 1), (2, 2, 1), (8, 8, 1), (16, 8, 2), (64, 8, 8)]
)
def test_a_compute_bound_model_gets_every_core(cores: int, threads: int, instances: int) -> None:
    placed = decide(settings(), "text-embed", row_us=5000.0, cores=cores, providers=CPU)
    assert (placed.threads, placed.instances, placed.compute_bound) == (threads, instances, True)
    assert placed.source == "auto"


def test_on_a_gpu_the_device_does_the_work() -> None:
    placed = decide(settings(), "text-embed", row_us=50.0 * 1000, cores=16, providers=GPU)
    assert (placed.threads, placed.instances) == (1, 1)


def test_numbers_override_auto_per_model_first() -> None:
    chosen = settings(intra_op_threads=3, model_threads={"text-embed": 2}, model_instances={"x": 4})
    assert decide(chosen, "tabular", 0.5, 16, CPU).threads == 3
    text = decide(chosen, "text-embed", 5000.0, 16, CPU)
    assert (text.threads, text.instances) == (2, 2)
    assert text.source == "FERRY_MODEL_THREADS"
    x = decide(chosen, "x", 5000.0, 16, CPU)
    assert (x.threads, x.instances, x.source) == (
        3,
        4,
        "FERRY_INTRA_OP_THREADS,FERRY_MODEL_INSTANCES",
    )


def test_given_instances_share_out_the_cores_as_threads() -> None:
    placed = decide(settings(instances=4), "text-embed", 5000.0, cores=16, providers=CPU)
    assert (placed.threads, placed.instances) == (4, 4)


def test_nothing_left_auto_means_no_probe() -> None:
    assert needs_probe(settings(), "m")
    assert needs_probe(settings(intra_op_threads=2), "m")
    assert not needs_probe(settings(model_threads={"m": 2}, instances=1), "m")


def _threads(runtime: ModelRuntime) -> list[int]:
    assert runtime.instances is not None
    return [s.get_session_options().intra_op_num_threads for s in runtime.instances.sessions]


def test_a_loaded_small_model_runs_on_one_thread(artifact: Artifact) -> None:
    runtime = ModelRuntime.load(artifact, settings())
    assert runtime.placement.compute_bound is False
    assert runtime.placement.row_us is not None and runtime.placement.row_us > 0
    assert _threads(runtime) == [1]
    assert runtime.describe()["intra_op_threads"] == 1


def test_a_loaded_compute_bound_model_gets_the_cores_this_process_may_use(
    artifact: Artifact,
) -> None:
    # any measured time is at least this bound: the linear model counts as compute-bound
    runtime = ModelRuntime.load(artifact, settings(compute_bound_us=1e-6, instances=2))
    cores = available_cores()
    assert runtime.placement.compute_bound is True
    assert runtime.placement.cores == cores
    assert _threads(runtime) == [max(1, cores // 2)] * 2
    out = runtime.run({"features": np.zeros((3, 30), np.float32)})
    assert out["probabilities"].shape == (3, 2)


def test_given_counts_are_used_without_a_probe(artifact: Artifact) -> None:
    runtime = ModelRuntime.load(artifact, settings(model_threads={"tabular": 3}, instances=1))
    assert runtime.placement.row_us is None and runtime.placement.compute_bound is None
    assert _threads(runtime) == [3]


def test_scoring_runs_a_compute_bound_model_on_every_core_as_one_instance(
    artifact: Artifact,
) -> None:
    serving = settings(instances=4, compute_bound_us=1e9)  # serving: nothing is compute-bound
    runtime = ModelRuntime.load(artifact, scoring_runtime(serving, ScoreSettings()))
    assert runtime.placement.compute_bound is False  # the linear model is not, for scoring
    bound = scoring_runtime(serving, ScoreSettings(compute_bound_us=1e-6))
    runtime = ModelRuntime.load(artifact, bound)
    assert (runtime.placement.instances, runtime.placement.source) == (1, "auto")
    assert _threads(runtime) == [available_cores()]


def _spin(runtime: ModelRuntime) -> str:
    options = runtime.session.get_session_options()
    return str(options.get_session_config_entry("session.intra_op.allow_spinning"))


def test_multi_threaded_sessions_do_not_spin_unless_asked(artifact: Artifact) -> None:
    quiet = ModelRuntime.load(artifact, settings(intra_op_threads=2, instances=1))
    assert _spin(quiet) == "0"
    spinning = ModelRuntime.load(artifact, settings(intra_op_threads=2, instances=1, spin=True))
    assert _spin(spinning) == "1"
