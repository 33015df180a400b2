"""`ferry bench text`: a text model served against raw ONNX Runtime, a user's server, and
its own batching choices, side by side in one run.

On a text model from the registry (default `text-embed`), with the servers started
here on 127.0.0.1 and measured in alternating slices (`rounds` per workload), so a
load spike from elsewhere hits every contender alike:

1. 128-token texts, one per request, `clients` clients: the service as shipped; raw
   ONNX Runtime in-process on one session with every core this process may use, at
   the service's measured mean batch; and the FastAPI + sentence-transformers server a
   user would write (`loadtests/peers/st_peer.py`, PyTorch with its default threads);
2. the mixed-length corpus (70% <= 16 tokens, 20% 17-64, 10% longer): the service
   against raw ONNX Runtime at its mean batch, batched by length bucket as it does;
3. texts of 8 to 128 tokens (`texts_per_request` each): the service's text batching
   (length buckets and a token budget, `FERRY_MAX_BATCH_TOKENS`) against row-count
   batching (one bucket, rows alone: arrival order, padded to the longest, as a
   batcher that knows nothing of tokens does), and against its buckets with rows
   alone, to show what the budget adds by itself: sentences/s and p99;
4. raw ONNX Runtime on the mixed corpus under three padding strategies.

Every server's CPU time is counted per slice: on a machine shared with other work,
CPU ms per sentence compares contenders where the share of the machine each one got
does not.

The goals are in `loadtests/thresholds.toml [text]`; a miss makes the run exit 1.
"""

from __future__ import annotations

import os
import platform
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from functools import partial
from pathlib import Path
from typing import Any

import httpx

from export.errors import ExportError
from export.registry import Registry
from loadtests import records, text_report, text_torch, thresholds
from loadtests.servers import FERRY, running_server
from loadtests.text_corpus import Corpus
from loadtests.text_raw import batches, sentences_per_s
from loadtests.text_serve import Client, Served
from service.runtime import (
    ModelRuntime,
    RuntimeSettings,
    TextSettings,
    available_cores,
    bucket_bounds,
)

GOALS = thresholds.goals("text")
POOL = 256  # different texts per workload
ROUNDS = 3  # alternating slices per workload
PEER = "loadtests.peers.st_peer:app"
SHIPPED = "length buckets + token budget (ferry)"
BUCKETS_ROWS = "length buckets, rows alone"
ROW_COUNT = "row count (arrival order, rows alone)"
SPREAD = (8, 128)  # token counts of the token-budget workload


def run(
    registry: Path,
    model: str,
    clients: int,
    seconds: float,
    out: Path,
    command: str,
    rounds: int = ROUNDS,
    peer: bool = True,
    texts_per_request: int = 4,
    record: bool = False,
) -> int:
    """Measure, write `out`/results.{json,md}, print the table; 1 when a goal is missed.

    With `record`, the figures are also kept in the registry beside the measured version."""
    runtime = load(registry, model)
    if runtime is None:
        return 0
    assert runtime.text is not None
    corpus = Corpus(runtime.text)
    bounds = bucket_bounds(TextSettings().buckets, runtime.text.max_length)
    report: dict[str, Any] = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores (this process may use "
        f"{available_cores()}), {platform.platform()}",
        "load_average": os.getloadavg(),
        "command": command,
        "model": model,
        "version": runtime.version,
        "providers": runtime.providers,
        "raw_threads": runtime.placement.threads,
        "clients": clients,
        "seconds": seconds,
        "rounds": rounds,
        "goals": GOALS,
        "buckets": list(bounds),
    }
    if peer and not text_torch.available():
        peer = False
        report["notes"] = [
            "no sentence-transformers peer: install the text extra (pip install 'ferry[text]')"
        ]
    long, mixed = corpus.texts(128, POOL), corpus.mixed(4 * clients)
    spread = corpus.spread(POOL, *SPREAD)
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        up = _Servers(stack, registry, Path(tmp), model)
        service = up.ferry("service", clients)
        report["placement"] = placement(service.url, model)
        users = up.peer(clients) if peer else None
        report["fixed"] = [
            against_raw(service, runtime, long, seconds, rounds, (), users),
        ]
        report["mixed_service"] = against_raw(service, runtime, mixed, seconds, rounds, bounds)
        rows_alone = {"FERRY_MAX_BATCH_TOKENS": "0"}
        one_bucket = {**rows_alone, "FERRY_TEXT_BUCKETS": str(runtime.text.max_length)}
        contenders = {
            SHIPPED: service,
            BUCKETS_ROWS: up.ferry("buckets-rows", clients, **rows_alone),
            ROW_COUNT: up.ferry("row-count", clients, **one_bucket),
        }
        report["budget"] = batching(
            {k: c.with_texts(texts_per_request) for k, c in contenders.items()},
            spread,
            seconds,
            rounds,
        )
        report["mixed"] = mixed_raw(runtime, mixed, clients, seconds, bounds)
    report["checks"] = checks(report)
    text_report.write(report, out)
    print(text_report.markdown(report))
    print(f"written: {out / 'results.json'}, {out / 'results.md'}")
    if record:
        records.record(registry, [records.text_entry(report)])
        print(f"recorded in {registry}: the figures of {model}:{runtime.version}")
    return 0 if all(ok for *_, ok in report["checks"]) else 1


def load(registry: Path, model: str) -> ModelRuntime | None:
    """The production version of `model` on one session with every core this process may
    use (the raw ceiling), or None (with why) to skip."""
    try:
        artifact = Registry(registry).get(f"{model}@production")
    except ExportError as err:
        print(f"skipped: no text model to measure ({err}); train one with `ferry train {model}`")
        return None
    every_core = RuntimeSettings(
        intra_op_threads=available_cores(), instances=1, model_threads={}, model_instances={}
    )
    runtime = ModelRuntime.load(artifact, every_core, warm_up=False)
    if runtime.text is None:
        print(
            f"skipped: {model}:{runtime.version} is not a text model (no preprocessing.tokenizer)"
        )
        return None
    return runtime


def against_raw(
    client: Client,
    runtime: ModelRuntime,
    texts: list[str],
    seconds: float,
    rounds: int,
    bounds: tuple[int, ...] = (),
    users: Client | None = None,
) -> dict[str, Any]:
    """The service, raw ONNX Runtime at the service's mean batch so far (batched by
    length bucket with `bounds`) and the user's server, in alternating slices."""
    assert runtime.text is not None
    text = runtime.text
    service, peer = client.served(), client.served()
    rates: list[float] = []
    sizes: list[int] = []
    cpu = [0.0, 0.0, 0.0]  # CPU seconds, sentences and wall seconds of the raw loop

    def raw(slice_s: float) -> None:
        size = max(1, round(service.mean_batch or 1))
        pool = texts if bounds else texts[: max(2 * size, 32)]
        feeds = batches(text, pool, size, bounds=bounds)
        started, clock = time.process_time(), time.perf_counter()
        rates.append(sentences_per_s(runtime.session, feeds, slice_s))
        cpu[0] += time.process_time() - started
        cpu[1] += rates[-1] * (time.perf_counter() - clock)
        cpu[2] += time.perf_counter() - clock
        sizes.append(size)

    slices: list[Callable[[float], object]] = [
        lambda s: client.slice(texts, s, service),
        raw,
    ]
    client.warm(texts)
    torch_rates: list[float] = []
    if users is not None:
        users.warm(texts)
        slices.append(lambda s: users.slice(texts, s, peer))
        model = text_torch.load()

        def torch(slice_s: float) -> None:
            size = max(1, round(service.mean_batch or 1))
            pool = texts[: max(2 * size, 32)]
            torch_rates.append(text_torch.sentences_per_s(model, pool, size, slice_s))

        slices.append(torch)
    alternate(slices, seconds, rounds)
    summary = service.summary()
    result: dict[str, Any] = {
        "mean_tokens": float(text.encode(texts).lengths.mean()),
        "service": summary,
        "raw_batch": sizes[-1],
        "raw_batches": sizes,
        "raw_sentences_per_s": sum(rates) / len(rates),
        "raw_cpu_ms_per_sentence": 1000 * cpu[0] / cpu[1] if cpu[1] else None,
        "raw_cpu_cores": cpu[0] / cpu[2] if cpu[2] else None,
        "ratio": summary["sentences_per_s"] / (sum(rates) / len(rates)),
    }
    if users is not None:
        result["torch_sentences_per_s"] = sum(torch_rates) / len(torch_rates)
        result["peer"] = peer.summary()
        result["vs_peer"] = summary["sentences_per_s"] / max(
            peer.summary()["sentences_per_s"], 1e-9
        )
    return result


def batching(
    contenders: dict[str, Client], texts: list[str], seconds: float, rounds: int
) -> dict[str, Any]:
    """The service under each batching, in alternating slices: figures and ratios."""
    tallies = {label: client.served() for label, client in contenders.items()}
    for client in contenders.values():
        client.warm(texts)
    alternate(
        [partial(_slice, client, texts, tallies[label]) for label, client in contenders.items()],
        seconds,
        rounds,
    )
    summaries = {label: tally.summary() for label, tally in tallies.items()}
    ours, rows = summaries[SHIPPED], summaries[ROW_COUNT]
    alone = summaries[BUCKETS_ROWS]
    return {
        "texts_per_request": next(iter(contenders.values())).texts_per_request,
        "tokens": list(SPREAD),
        "servers": summaries,
        "ratio": ours["sentences_per_s"] / max(rows["sentences_per_s"], 1e-9),
        "p99_ratio": ours["p99_ms"] / max(rows["p99_ms"], 1e-9),
        "budget_alone_ratio": ours["sentences_per_s"] / max(alone["sentences_per_s"], 1e-9),
        "budget_alone_p99_ratio": ours["p99_ms"] / max(alone["p99_ms"], 1e-9),
    }


def _slice(client: Client, texts: list[str], tally: Served, seconds: float) -> None:
    client.slice(texts, seconds, tally)


def alternate(slices: list[Callable[[float], object]], seconds: float, rounds: int) -> None:
    """Run each slice for `seconds / rounds`, in turn, `rounds` times."""
    for _ in range(rounds):
        for one in slices:
            one(seconds / rounds)


def mixed_raw(
    runtime: ModelRuntime, texts: list[str], size: int, seconds: float, bounds: tuple[int, ...]
) -> dict[str, Any]:
    """Sentences/s of the mixed workload under three batching strategies, and speed-ups."""
    assert runtime.text is not None
    lengths = runtime.text.encode(texts).lengths
    strategies = {
        "arrival order, pad to max length": batches(runtime.text, texts, size, "max"),
        "arrival order, pad to longest": batches(runtime.text, texts, size),
        "length buckets, pad to longest": batches(runtime.text, texts, size, bounds=bounds),
    }
    rates = {k: sentences_per_s(runtime.session, f, seconds) for k, f in strategies.items()}
    base = rates["arrival order, pad to max length"]
    return {
        "texts": len(texts),
        "batch": size,
        "mean_tokens": float(lengths.mean()),
        "raw": {k: {"sentences_per_s": v, "speedup": v / base} for k, v in rates.items()},
    }


def checks(report: dict[str, Any]) -> list[thresholds.Check]:
    """Every goal of `thresholds.toml [text]` with its measured figure."""
    goals = report["goals"]
    results = []
    served = [*report["fixed"], report["mixed_service"]]
    budget = report["budget"]
    everything = [s["service"] for s in served] + list(budget["servers"].values())
    for summary in everything:
        rate = summary["errors"] / max(1, summary["requests"])
        results.append(thresholds.at_most("service: error rate", rate, goals["max_error_rate"]))
    for label, one in [("128-token texts", report["fixed"][0]), ("mixed", report["mixed_service"])]:
        results.append(
            thresholds.at_least(f"service / raw, {label}", one["ratio"], goals["service_vs_raw"])
        )
    if "vs_peer" in report["fixed"][0]:
        results.append(
            thresholds.at_least(
                "service / sentence-transformers, 128-token texts",
                report["fixed"][0]["vs_peer"],
                goals["service_vs_sentence_transformers"],
            )
        )
    results.append(
        thresholds.at_least(
            "text batching / row count, sentences/s", budget["ratio"], goals["token_budget_vs_rows"]
        )
    )
    results.append(
        thresholds.at_most(
            "text batching / row count, p99", budget["p99_ratio"], goals["token_budget_p99_vs_rows"]
        )
    )
    return results


def placement(url: str, model: str) -> dict[str, Any]:
    """What the service gave the model (threads, instances), from its /status."""
    about: dict[str, Any] = httpx.get(f"{url}/status", timeout=10).json()["models"][model]
    keys = ("intra_op_threads", "instances", "compute_bound", "row_us", "cores", "placement")
    return {k: about.get(k) for k in keys}


class _Servers:
    """The contenders of one run, started one at a time (cold starts do not overlap) and
    kept running until the run ends."""

    def __init__(self, stack: ExitStack, registry: Path, tmp: Path, model: str) -> None:
        self.stack, self.registry, self.tmp, self.model = stack, registry.resolve(), tmp, model

    def ferry(self, label: str, clients: int, **env: str) -> Client:
        return self._start("bentoml", FERRY, label, clients, FERRY_MODELS=self.model, **env)

    def peer(self, clients: int) -> Client:
        return self._start("uvicorn", PEER, "sentence-transformers", clients)

    def _start(self, kind: str, target: str, label: str, clients: int, **env: str) -> Client:
        log = self.tmp / f"{label}.log"
        # Loading warms every bucket at the largest batch: seconds for a real transformer.
        started = self.stack.enter_context(
            running_server(kind, target, self.registry, log, 300.0, **env)
        )
        return Client(started.url, self.model, clients, pid=started.pid)
