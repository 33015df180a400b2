"""Publish a module: export, describe, verify parity, then commit a new registry version.

Everything happens inside a registry draft; a failure at any step (parity
included) leaves no version and no draft behind.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import numpy as np
import onnx
from torch import nn

from export.drift import build_reference
from export.errors import ExportError
from export.manifest import MANIFEST, MODEL_FILE, Manifest, sha256_file
from export.metadata import write_metadata
from export.onnx import DEFAULT_OPSET, export_onnx, model_opset
from export.reference import NAME
from export.registry import Artifact, Registry
from export.revision import code_revision
from export.signature import Signature
from export.verify import DEFAULT_TOLERANCE, require_parity, run_parity


def publish(
    registry: Registry,
    name: str,
    module: nn.Module,
    signature: Signature,
    sample_inputs: dict[str, np.ndarray],
    *,
    labels: list[str],
    features: list[str],
    metrics: dict[str, float],
    data_fingerprint: str,
    task: str,
    preprocessing: dict[str, Any],
    training: dict[str, Any],
    tolerance: float = DEFAULT_TOLERANCE,
    opset: int = DEFAULT_OPSET,
    files: Mapping[str, bytes] | None = None,
    random_rows: int = 1000,
    evaluation: dict[str, Any] | None = None,
    reference_inputs: dict[str, np.ndarray] | None = None,
) -> Artifact:
    """Export `module` as the next version of `name`; raise `ParityError` and publish nothing
    if ONNX Runtime and PyTorch disagree by more than `tolerance` on `sample_inputs` (held-out
    rows) plus `random_rows` random rows.

    `files` are written beside the graph and hashed in the manifest like it (a text
    model's `tokenizer.json`), so loading refuses a modified one. `evaluation` is what
    training measured for a card to plot (`Manifest.evaluation`).

    The manifest's `drift` block holds reference statistics of `reference_inputs` (the
    training rows; default `sample_inputs`) and of the graph's outputs on `sample_inputs`."""
    _check_samples(signature, sample_inputs)
    extra = dict(files or {})
    for file_name in extra:
        check_file_name(file_name)
    with registry.draft(name) as draft:
        for file_name, content in extra.items():
            (draft.path / file_name).write_bytes(content)
        path = draft.path / MODEL_FILE
        export_onnx(module, signature, sample_inputs, path, opset)
        write_metadata(
            path,
            {
                "name": name,
                "version": draft.version,
                "task": task,
                "signature": signature.to_dict(),
                "labels": labels,
                "features": features,
                "metrics": metrics,
            },
        )
        parity, outputs = run_parity(module, path, sample_inputs, tolerance, random_rows)
        require_parity(parity)  # before the manifest exists, so the draft cannot commit
        reference = build_reference(
            signature,
            reference_inputs or sample_inputs,
            outputs,
            features=features,
            labels=labels,
            preprocessing=preprocessing,
        )
        Manifest(
            name=name,
            version=draft.version,
            signature=signature,
            labels=list(labels),
            files={f: sha256_file(draft.path / f) for f in (MODEL_FILE, *extra)},
            parity=parity,
            created_at=datetime.now(UTC).isoformat(timespec="seconds"),
            opset=model_opset(onnx.load(str(path), load_external_data=False)),
            task=task,
            features=list(features),
            preprocessing=preprocessing,
            metrics={key: float(value) for key, value in metrics.items()},
            data_fingerprint=data_fingerprint,
            code_revision=code_revision(),
            training=training,
            evaluation=dict(evaluation or {}),
            drift=reference.to_dict(),
        ).write(draft.path)
        version = draft.version
    return registry.get(f"{name}:{version}")


def check_file_name(file_name: str) -> str:
    """Return `file_name` if it can sit beside the graph: one plain name, not ours."""
    if file_name in (MODEL_FILE, MANIFEST) or not NAME.match(file_name):
        raise ExportError(
            f"invalid artifact file name {file_name!r}: use one name of letters, digits, "
            f"'_', '.', '-' other than {MODEL_FILE} and {MANIFEST}"
        )
    return file_name


def _check_samples(signature: Signature, samples: dict[str, np.ndarray]) -> None:
    for spec in signature.inputs:
        if spec.name not in samples:
            raise ExportError(f"no sample rows for input {spec.name!r} (given: {sorted(samples)})")
        array = np.asarray(samples[spec.name])
        if array.dtype.name != spec.dtype:
            raise ExportError(
                f"sample rows for input {spec.name!r} are {array.dtype.name}, "
                f"the signature says {spec.dtype}"
            )
        fixed = [(a, d) for a, d in zip(array.shape[1:], spec.shape[1:], strict=False) if d != -1]
        if array.ndim != len(spec.shape) or any(a != d for a, d in fixed):
            raise ExportError(
                f"sample rows for input {spec.name!r} have shape {array.shape}, "
                f"the signature says {spec.shape}"
            )
