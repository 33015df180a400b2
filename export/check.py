"""Check a written ONNX file against its `Signature` (torch-free: exports and variants use it)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import helper

from export.errors import ExportError
from export.signature import Signature, TensorSpec


def check_onnx(path: Path, signature: Signature, opset: int | None = None) -> onnx.ModelProto:
    """Run the full ONNX checker and compare the graph's opset, names and dtypes to `signature`."""
    try:
        onnx.checker.check_model(str(path), full_check=True)
    except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as err:
        raise ExportError(f"{path} fails the ONNX checker: {err}") from err
    model = onnx.load(str(path), load_external_data=False)
    written = model_opset(model)
    if opset is not None and written != opset:
        raise ExportError(f"{path} was written with opset {written}, asked for {opset}")
    _check_values("input", list(model.graph.input), signature.inputs, path)
    _check_values("output", list(model.graph.output), signature.outputs, path)
    return model


def model_opset(model: onnx.ModelProto) -> int:
    """The version of the default (`ai.onnx`) operator set a model imports."""
    for entry in model.opset_import:
        if entry.domain in ("", "ai.onnx"):
            return int(entry.version)
    raise ExportError("the model imports no ai.onnx operator set")


def _check_values(
    kind: str, values: list[onnx.ValueInfoProto], specs: tuple[TensorSpec, ...], path: Path
) -> None:
    names = [v.name for v in values]
    expected = [spec.name for spec in specs]
    if names != expected:
        raise ExportError(f"{path}: graph {kind}s are {names}, the signature says {expected}")
    for value, spec in zip(values, specs, strict=True):
        dtype = np.dtype(helper.tensor_dtype_to_np_dtype(value.type.tensor_type.elem_type)).name
        if dtype != spec.dtype:
            raise ExportError(
                f"{path}: graph {kind} {spec.name!r} has dtype {dtype}, "
                f"the signature says {spec.dtype}"
            )
        _check_shape(kind, value, spec, path)


def _check_shape(kind: str, value: onnx.ValueInfoProto, spec: TensorSpec, path: Path) -> None:
    """A -1 axis must not be fixed in the graph, and a fixed one must not differ; an axis the
    exporter left symbolic where the signature fixes it is fine (the signature is stricter)."""
    if not value.type.tensor_type.HasField("shape"):
        return
    dims = value.type.tensor_type.shape.dim
    graph = [d.dim_value if d.HasField("dim_value") else -1 for d in dims]
    if len(graph) != len(spec.shape):
        raise ExportError(
            f"{path}: graph {kind} {spec.name!r} has {len(graph)} axes, "
            f"the signature says {len(spec.shape)} {list(spec.shape)}"
        )
    for axis, (size, want) in enumerate(zip(graph, spec.shape, strict=True)):
        if size != -1 and size != want:
            said = "dynamic" if want == -1 else str(want)
            raise ExportError(
                f"{path}: graph {kind} {spec.name!r} fixes axis {axis} at {size}, "
                f"the signature says {said}"
            )
