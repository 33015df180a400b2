"""Publish an int8 or fp16 copy of a published fp32 version as a new version.

The source version is only read. The variant goes through a registry draft
like any export (all-or-nothing), carries the source's other files (a text
model's tokenizer.json) re-hashed, and records in `manifest.variant` its
precision, its source, its quality against the source on held-out inputs and
both graphs' speed measured side by side in one run, so promotion can choose
on figures.
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from export.check import check_onnx
from export.errors import ExportError, ParityError
from export.manifest import MODEL_FILE, Manifest, Parity, sha256_file
from export.metadata import write_metadata
from export.optimize import convert
from export.probe import Feeds, probe_batches
from export.quality import PROVIDER, agreement, rows_per_second, run_all, session
from export.reference import Reference
from export.registry import Artifact, Registry
from export.revision import code_revision

#: Largest |variant - source| on any output element that still publishes. Far above
#: normal rounding (fp16 ~1e-3, int8 ~0.05 on embeddings) and there to stop a broken
#: conversion (NaN, garbage), not to judge quality: that is `variant.quality`'s job.
TOLERANCE = {"fp16": 0.05, "int8": 0.5}
FP32 = "fp32"


def publish_variant(
    registry: Registry,
    ref: str | Reference,
    precision: str,
    *,
    inputs: dict[str, np.ndarray] | None = None,
    batch: int = 32,
    threads: int = 1,
    rounds: int = 3,
) -> Artifact:
    """Make the `precision` variant of `ref` (an fp32 version) and publish it as the next
    version of the same model. No alias moves."""
    source = registry.get(ref)  # verifies every file's sha256 first
    if precision not in TOLERANCE:
        raise ExportError(f"unknown precision {precision!r} (known: {', '.join(TOLERANCE)})")
    _require_fp32(source)
    batches, measured_on = probe_batches(source, batch, inputs)
    name = source.manifest.name
    with registry.draft(name) as draft:
        for file_name in source.manifest.files:
            if file_name != MODEL_FILE:
                shutil.copyfile(source.path / file_name, draft.path / file_name)
        path = draft.path / MODEL_FILE
        convert(precision, source.model_path, path)
        check_onnx(path, source.manifest.signature)
        variant = measure(source, path, precision, batches, threads, rounds)
        variant["measured_on"] = measured_on
        parity = _parity(variant, precision)
        write_metadata(path, {"name": name, "version": draft.version, "variant": variant})
        files = {f: sha256_file(draft.path / f) for f in source.manifest.files}
        replace(
            source.manifest,
            version=draft.version,
            files=files,
            parity=parity,
            created_at=datetime.now(UTC).isoformat(timespec="seconds"),
            code_revision=code_revision(),
            variant=variant,
        ).write(draft.path)
        version = draft.version
    return registry.get(f"{name}:{version}")


def measure(
    source: Artifact,
    variant_path: Path,
    precision: str,
    batches: list[Feeds],
    threads: int,
    rounds: int,
) -> dict[str, Any]:
    """`manifest.variant` for a variant graph of `source`: quality and speed on `batches`."""
    reference = session(source.model_path, threads)
    candidate = session(variant_path, threads)
    quality = agreement(run_all(reference, batches), run_all(candidate, batches))
    rows = sum(len(next(iter(feeds.values()))) for feeds in batches)
    source_speed, speed = rows_per_second([reference, candidate], batches, rounds)
    return {
        "precision": precision,
        "source_version": source.manifest.version,
        "quality": {**quality, "rows": rows},
        "speed": {
            "rows_per_s": round(speed, 2),
            "source_rows_per_s": round(source_speed, 2),
            "batch": max(len(next(iter(feeds.values()))) for feeds in batches),
            "threads": threads,
            "provider": PROVIDER,
        },
    }


def benchmark_entry(manifest: Manifest) -> dict[str, Any]:
    """A variant's speed and quality figures as a `registry.append_benchmark` entry."""
    variant = manifest.variant
    speed = variant.get("speed") or {}
    return {
        "kind": "variant",
        "version": manifest.version,
        "source_version": variant.get("source_version"),
        "precision": variant.get("precision"),
        "rows_per_s": speed.get("rows_per_s"),
        "source_rows_per_s": speed.get("source_rows_per_s"),
        **{k: speed.get(k) for k in ("batch", "threads", "provider")},
        "quality": variant.get("quality"),
        "measured_on": variant.get("measured_on"),
    }


def _require_fp32(source: Artifact) -> None:
    made_from = source.manifest.variant
    if made_from and made_from.get("precision") != FP32:
        m = source.manifest
        raise ExportError(
            f"{m.name}:{m.version} is already a {made_from.get('precision')} variant of "
            f"{m.name}:{made_from.get('source_version')}; make variants from an fp32 version"
        )


def _parity(variant: dict[str, Any], precision: str) -> Parity:
    quality = variant["quality"]
    diff = float(quality["max_abs_diff"])
    parity = Parity(
        max_abs_diff=diff,
        tolerance=TOLERANCE[precision],
        rows=int(quality["rows"]),
        passed=bool(diff <= TOLERANCE[precision]),
    )
    if not parity.passed:
        raise ParityError(
            f"the {precision} graph differs from its fp32 source by max |diff| {diff:.3g} "
            f"over {parity.rows} rows, above {parity.tolerance}; not publishing"
        )
    return parity
