"""`ferry bench text`: a text model served against raw ONNX Runtime, and what bucketing buys.

One run, on a text model from the registry (default `text-embed`):

1. the service, started here on 127.0.0.1, at `clients` concurrent clients
   sending one text each, for 16-token and for 128-token texts;
2. raw ONNX Runtime on the same texts at the service's measured mean batch
   size, in-process, same session settings, in slices alternating with the
   service's (see `loadtests.text_serve`); the ratio service / raw (goal 0.70);
3. a mixed-length workload in raw ONNX Runtime: batches in arrival order padded
   to the max length, the same padded to their longest text, and batches grouped
   by length bucket and padded to their longest text (what the service does);
4. the mixed workload through the service, with its length buckets and with one
   bucket only (padding to the longest still on), to see bucketing on its own.
"""

from __future__ import annotations

import os
import platform
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from export.errors import ExportError
from export.registry import Registry
from loadtests import records, text_report
from loadtests.servers import FERRY, running_server
from loadtests.text_corpus import Corpus
from loadtests.text_raw import batches, sentences_per_s
from loadtests.text_serve import Client, Served
from service.runtime import ModelRuntime, RuntimeSettings, TextSettings, bucket_bounds

GOAL = 0.70
LENGTHS = (16, 128)
POOL = 256  # different texts per workload
ROUNDS = 3  # alternating service / raw slices per text length


def run(
    registry: Path,
    model: str,
    clients: int,
    seconds: float,
    out: Path,
    command: str,
    service_mixed: bool = True,
    rounds: int = ROUNDS,
    record: bool = False,
) -> int:
    """Measure, write `out`/results.{json,md}, print the table; 1 when the goal is missed.

    With `record`, the figures are also kept in the registry beside the measured version."""
    runtime = load(registry, model)
    if runtime is None:
        return 0
    assert runtime.text is not None
    corpus = Corpus(runtime.text)
    bounds = bucket_bounds(TextSettings().buckets, runtime.text.max_length)
    report: dict[str, Any] = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.platform()}",
        "command": command,
        "model": model,
        "version": runtime.version,
        "providers": runtime.providers,
        "clients": clients,
        "seconds": seconds,
        "rounds": rounds,
        "goal": GOAL,
        "buckets": list(bounds),
    }
    mixed = corpus.mixed(4 * clients)
    with tempfile.TemporaryDirectory() as tmp:
        with _service(registry, Path(tmp) / "buckets.log", model) as url:
            client = Client(url, model, clients)
            report["fixed"] = [
                against_raw(client, runtime, n, corpus.texts(n, POOL), seconds, rounds)
                for n in LENGTHS
            ]
            bucketed = served(client, mixed, seconds) if service_mixed else None
        report["mixed"] = mixed_raw(runtime, mixed, clients, seconds, bounds)
        if bucketed is not None:
            # One bucket as large as the model's max length: bucketing off, padding unchanged.
            one = str(runtime.text.max_length)
            with _service(registry, Path(tmp) / "one.log", model, FERRY_TEXT_BUCKETS=one) as url:
                unbucketed = served(Client(url, model, clients), mixed, seconds)
            report["mixed"]["service"] = {"buckets": bucketed, "one bucket": unbucketed}
    text_report.write(report, out)
    print(text_report.markdown(report))
    print(f"written: {out / 'results.json'}, {out / 'results.md'}")
    if record:
        records.record(registry, [records.text_entry(report)])
        print(f"recorded in {registry}: the figures of {model}:{runtime.version}")
    return 0 if all(f["passed"] for f in report["fixed"]) else 1


def load(registry: Path, model: str) -> ModelRuntime | None:
    """The production version of `model` as the service loads it, or None (with why) to skip."""
    try:
        artifact = Registry(registry).get(f"{model}@production")
    except ExportError as err:
        print(f"skipped: no text model to measure ({err}); train one with `ferry train {model}`")
        return None
    runtime = ModelRuntime.load(artifact, RuntimeSettings(), warm_up=False)
    if runtime.text is None:
        print(
            f"skipped: {model}:{runtime.version} is not a text model (no preprocessing.tokenizer)"
        )
        return None
    return runtime


def against_raw(
    client: Client,
    runtime: ModelRuntime,
    tokens: int,
    texts: list[str],
    seconds: float,
    rounds: int,
) -> dict[str, Any]:
    """The service and raw ONNX Runtime (at the service's mean batch size so far), alternating."""
    assert runtime.text is not None
    client.warm(texts)
    service = Served(client.clients)
    rates, sizes = [], []
    for _ in range(rounds):
        client.slice(texts, seconds / rounds, service)
        size = max(1, round(service.mean_batch or 1))
        feeds = batches(runtime.text, texts[: 2 * size], size)
        rates.append(sentences_per_s(runtime.session, feeds, seconds / rounds))
        sizes.append(size)
    summary = service.summary()
    raw = sum(rates) / len(rates)
    ratio = summary["sentences_per_s"] / raw
    return {
        "tokens": tokens,
        "mean_tokens": float(runtime.text.encode(texts).lengths.mean()),
        "service": summary,
        "raw_batch": sizes[-1],
        "raw_batches": sizes,
        "raw_sentences_per_s": raw,
        "ratio": ratio,
        "passed": ratio >= GOAL and summary["errors"] == 0,
    }


def served(client: Client, texts: list[str], seconds: float) -> dict[str, Any]:
    """The service alone on a workload: sentences/s, latency, mean batch size."""
    client.warm(texts)
    return client.slice(texts, seconds, Served(client.clients)).summary()


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


@contextmanager
def _service(registry: Path, log: Path, model: str, **env: str) -> Iterator[str]:
    # Loading warms every bucket at the max batch size: seconds for a real transformer.
    with running_server(
        "bentoml", FERRY, registry.resolve(), log, 300.0, FERRY_MODELS=model, **env
    ) as started:
        yield started.url
