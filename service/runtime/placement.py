"""What each model gets of the machine: ONNX Runtime intra-op threads and instances.

An instance is one session with its own thread pool; a model with N instances has
up to N batches in flight at once (Triton's instance groups). The policy, with
`auto` settings:

- A model is **compute-bound** when one row takes longer than the path around it
  spends per row (`compute_bound_us`, measured at load on one thread at the probe
  batch). The online path spends ~300 us of CPU per request on HTTP, JSON and
  batching, so serving counts 100 us per row; batch scoring spends ~1 us per row
  reading, converting and writing, so scoring counts 2 us.
- A compute-bound model on the CPU gets every core this process may use
  (`service.runtime.cores`): one instance per `cores_per_instance` cores, the cores
  shared out as threads. A second thread in a small model's run costs more in
  hand-offs than it saves, so a small model gets one thread and one instance and
  keeps the batcher's inline fast path.
- On a GPU the device does the work: one thread, one instance unless told otherwise.

Numbers in the settings (`FERRY_INTRA_OP_THREADS=4`, `FERRY_MODEL_THREADS=text-embed:2`)
override `auto`, per model first.
"""

from __future__ import annotations

from dataclasses import dataclass

from service.runtime.settings import Count, RuntimeSettings

CPU = "CPUExecutionProvider"


@dataclass(frozen=True)
class Placement:
    """Threads and instances one model runs with, and why."""

    threads: int = 1
    instances: int = 1
    compute_bound: bool | None = None  # None: not measured (every count was given)
    row_us: float | None = None  # measured time per row at load, one thread
    cores: int = 1  # cores this process may use
    source: str = "auto"  # which settings decided: auto, or the variables that did

    def describe(self) -> dict[str, object]:
        """What `/status` and V2 metadata show."""
        return {
            "intra_op_threads": self.threads,
            "instances": self.instances,
            "compute_bound": self.compute_bound,
            "row_us": None if self.row_us is None else round(self.row_us, 2),
            "cores": self.cores,
            "placement": self.source,
        }


def wanted(settings: RuntimeSettings, model: str) -> tuple[Count, Count]:
    """(threads, instances) the settings ask for `model`: per-model first, then global."""
    return (
        settings.model_threads.get(model, settings.intra_op_threads),
        settings.model_instances.get(model, settings.instances),
    )


def needs_probe(settings: RuntimeSettings, model: str) -> bool:
    """Whether the decision waits for a measurement (anything left `auto`)."""
    return "auto" in wanted(settings, model)


def decide(
    settings: RuntimeSettings, model: str, row_us: float | None, cores: int, providers: list[str]
) -> Placement:
    """The placement of `model`, given its measured time per row and the cores there are."""
    threads, instances = wanted(settings, model)
    bound = None if row_us is None else row_us >= settings.compute_bound_us
    every_core = bool(bound) and bool(providers) and providers[0] == CPU
    count = (
        instances
        if instances != "auto"
        else (max(1, cores // settings.cores_per_instance) if every_core else 1)
    )
    each = threads if threads != "auto" else (max(1, cores // count) if every_core else 1)
    return Placement(each, count, bound, row_us, cores, _source(settings, model))


def _source(settings: RuntimeSettings, model: str) -> str:
    named = []
    if model in settings.model_threads:
        named.append("FERRY_MODEL_THREADS")
    elif settings.intra_op_threads != "auto":
        named.append("FERRY_INTRA_OP_THREADS")
    if model in settings.model_instances:
        named.append("FERRY_MODEL_INSTANCES")
    elif settings.instances != "auto":
        named.append("FERRY_INSTANCES")
    return ",".join(named) or "auto"
