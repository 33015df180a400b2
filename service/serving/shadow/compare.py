"""Run a session's queued requests on the shadow version and add the comparison to its summary.

Runs on the shadow thread, never on the request path. Requests queued together are
joined into as few runs as their shapes allow (a text model's texts by length
bucket, as the service batches them), so the shadow costs one model run per poll,
not one per request.
"""

from __future__ import annotations

from collections import defaultdict
from typing import cast

import numpy as np

from export.shadow import AgreementSummary
from service.runtime import ModelRuntime
from service.runtime.text import TEXT_INPUT
from service.serving.shadow.jobs import Arrays, Job, Route


def compare(summary: AgreementSummary, route: Route, jobs: list[Job], max_rows: int) -> None:
    """Run `jobs` (the route's) on its shadow and add them to `summary`; raises
    whatever the shadow raises, having added nothing."""
    name = route.primary.signature.outputs[0].name
    pieces = []
    if route.primary.text is not None:
        texts = [text for _, inputs, _, _ in jobs for text in _texts(inputs)]
        primary = np.concatenate([outputs[name] for _, _, outputs, _ in jobs])
        pieces.append(
            (primary, _output(run_texts(route.shadow, route.buckets, texts, max_rows), name))
        )
    else:
        for inputs, outputs in joined(route, jobs, name):
            pieces.append((outputs, _output(run_rows(route.shadow, inputs, max_rows), name)))
    for primary, shadow in pieces:  # all checked before any is added
        if len(primary) != len(shadow) or primary.size != shadow.size:
            raise ValueError(f"outputs of shapes {primary.shape} and {shadow.shape}")
    for primary, shadow in pieces:
        summary.add(primary, shadow, 0, _labels(route.primary, route.shadow, name, primary, shadow))
    summary.requests += requests(jobs)


def joined(route: Route, jobs: list[Job], name: str) -> list[tuple[Arrays, np.ndarray]]:
    """The jobs' inputs stacked, and the primary's output `name` beside them, one pair per
    shape of the inputs' rows (the requests of one session share their dtypes)."""
    groups: dict[tuple[object, ...], list[tuple[Arrays, np.ndarray]]] = defaultdict(list)
    fixed = all(-1 not in spec.shape[1:] for spec in route.primary.signature.inputs)
    for _, given, outputs, _ in jobs:
        inputs = cast(Arrays, given)
        shapes = () if fixed else tuple(a.shape[1:] for a in inputs.values())
        groups[shapes].append((inputs, outputs[name]))
    return [
        (
            {k: np.concatenate([inputs[k] for inputs, _ in group]) for k in group[0][0]},
            np.concatenate([output for _, output in group]),
        )
        for group in groups.values()
    ]


def requests(jobs: list[Job]) -> int:
    """The requests `jobs` hold."""
    return sum(job[3] for job in jobs)


def run_rows(runtime: ModelRuntime, inputs: Arrays, max_rows: int) -> Arrays:
    """The shadow's outputs for validated tensor rows, `max_rows` at a time."""
    rows = len(next(iter(inputs.values())))
    if rows <= max_rows:
        return runtime.run(inputs)
    parts = [
        runtime.run({k: v[i : i + max_rows] for k, v in inputs.items()})
        for i in range(0, rows, max_rows)
    ]
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def run_texts(
    runtime: ModelRuntime, buckets: tuple[int, ...], texts: list[str], max_rows: int
) -> Arrays:
    """The shadow's outputs for texts, tokenised by its own tokenizer, by length bucket."""
    text = runtime.text
    assert text is not None, f"{runtime.name}:{runtime.version} is not a text model"
    tokens = text.encode(texts)
    parts = tokens.parts(buckets or (text.max_length,), max_rows)
    results = [runtime.run(text.feeds(tokens.take(rows))) for rows, _ in parts]
    order = np.argsort(np.concatenate([rows for rows, _ in parts]))
    return {k: np.concatenate([r[k] for r in results])[order] for k in results[0]}


def _texts(inputs: Arrays | tuple[str, ...]) -> list[str]:
    """A text request's texts: as the typed endpoint had them, or V2's BYTES tensor."""
    return list(inputs) if isinstance(inputs, tuple) else list(inputs[TEXT_INPUT].tolist())


def _output(outputs: Arrays, name: str) -> np.ndarray:
    if name not in outputs:
        raise ValueError(f"the shadow has no output {name!r} (it has {sorted(outputs)})")
    return outputs[name]


def _labels(
    primary: ModelRuntime, shadow: ModelRuntime, name: str, want: np.ndarray, got: np.ndarray
) -> tuple[list[str], np.ndarray, list[str], np.ndarray] | None:
    """Both versions' predicted labels, when both are classifiers."""
    if shadow.signature.outputs[0].name != name:
        return None
    mine = primary.label_indices({name: want})
    theirs = shadow.label_indices({name: got})
    if mine is None or theirs is None:
        return None
    return list(primary.manifest.labels), mine, list(shadow.manifest.labels), theirs
