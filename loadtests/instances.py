"""Batches in flight on one device: a model on N instances against one, in-process.

Each instance is a session of its own (as the service opens them for
`FERRY_INSTANCES=N`), fed by a thread of its own running the same batch back to
back, as the batcher's workers do under load: inputs are copied to the device on
every run, as the service copies them. On a GPU, two sessions overlap one batch's
copies with another's compute; on a CPU they split the cores. The instance counts
take turns for `rounds` slices each, so drift on the machine hits them alike.

    python -m loadtests.instances --registry registry --model text-embed \\
        --providers CUDAExecutionProvider,CPUExecutionProvider --instances 1,2 --json out.json
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from export.registry import Registry
from service.runtime import ModelRuntime, RuntimeSettings, example_inputs


def load(registry: Path, model: str, providers: list[str], instances: int) -> ModelRuntime:
    """`model`'s production version on `instances` sessions of one thread each."""
    settings = RuntimeSettings(
        providers=providers,
        intra_op_threads=1,
        instances=instances,
        model_threads={},
        model_instances={},
    )
    return ModelRuntime.load(Registry(registry).get(f"{model}@production"), settings, warm_up=False)


def feeds(runtime: ModelRuntime, batch: int) -> dict[str, np.ndarray]:
    """One batch of `batch` rows (a text model: rows of its max length)."""
    if runtime.text is not None:
        return runtime.text.example(batch, runtime.text.max_length)
    return example_inputs(runtime.signature, batch)


def rows_per_s(runtime: ModelRuntime, batch: dict[str, np.ndarray], seconds: float) -> float:
    """Rows/s with one feeding thread per instance, all running until `seconds` pass."""
    assert runtime.instances is not None
    workers = len(runtime.instances.sessions)
    rows = next(iter(batch.values())).shape[0]
    runtime.instances.run_each(runtime.output_names, batch)  # every instance allocates first
    runs = [0] * workers
    deadline = time.perf_counter() + seconds

    def feed(i: int) -> None:
        while time.perf_counter() < deadline:
            runtime.run(batch)
            runs[i] += 1

    started = time.perf_counter()
    threads = [threading.Thread(target=feed, args=(i,)) for i in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(runs) * rows / (time.perf_counter() - started)


def measure(
    registry: Path,
    model: str,
    providers: list[str],
    counts: list[int],
    batch: int,
    seconds: float,
    rounds: int = 3,
) -> dict[str, Any]:
    """Rows/s of `model` on each instance count, and each count against one instance."""
    loaded = {n: load(registry, model, providers, n) for n in counts}
    batches = {n: feeds(runtime, batch) for n, runtime in loaded.items()}
    rates: dict[int, list[float]] = {n: [] for n in counts}
    for _ in range(rounds):
        for n, runtime in loaded.items():
            rates[n].append(rows_per_s(runtime, batches[n], seconds / rounds))
    mean = {n: sum(r) / len(r) for n, r in rates.items()}
    one = mean.get(1) or mean[min(mean)]
    return {
        "model": model,
        "providers": loaded[counts[0]].providers,
        "batch": batch,
        "rows_per_s": {str(n): mean[n] for n in counts},
        "vs_one": {str(n): mean[n] / one for n in counts},
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--registry", type=Path, default=Path("registry"))
    parser.add_argument("--model", action="append", required=True)
    parser.add_argument("--providers", default="CPUExecutionProvider")
    parser.add_argument("--instances", default="1,2", help="instance counts, comma-separated")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    counts = [int(n) for n in args.instances.split(",")]
    providers = args.providers.split(",")
    results = [
        measure(args.registry, m, providers, counts, args.batch, args.seconds, args.rounds)
        for m in args.model
    ]
    for r in results:
        print(f"{r['model']} on {r['providers'][0]}, batch {r['batch']}:")
        for n in counts:
            rate, ratio = r["rows_per_s"][str(n)], r["vs_one"][str(n)]
            print(f"  {n} instance(s) in flight: {rate:,.0f} rows/s ({ratio:.2f}x one)")
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
