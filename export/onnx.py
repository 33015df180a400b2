"""Export an `nn.Module` to a single, checked ONNX file that matches its `Signature`.

The exporter knows nothing about particular models: it takes a module, the
signature its graph must have, and sample inputs to trace with.
"""

from __future__ import annotations

import inspect
import warnings
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import helper
from torch import nn

from export.errors import ExportError
from export.signature import Signature, TensorSpec

DEFAULT_OPSET = 18
BATCH = "batch"


def export_onnx(
    module: nn.Module,
    signature: Signature,
    sample_inputs: dict[str, np.ndarray],
    path: Path,
    opset: int = DEFAULT_OPSET,
    *,
    dynamo: bool = False,
) -> None:
    """Write `module` to `path` as one ONNX file with a dynamic batch axis, then check it.

    Inputs and outputs are named after `signature`, axis 0 of each is dynamic, and
    the written file is checked with `full_check`, for its opset and for its names.

    The legacy (TorchScript) exporter is the default: for the small models ferry
    trains it writes the same graph (parity 6e-8 on the tabular MLP) in 0.02-0.05 s,
    where `dynamo=True` took 4.7-6.4 s for the first export in a process (plus
    1.2 s importing onnxscript) and 1.5-1.7 s for each later one (torch 2.13, 2
    cores). Pass `dynamo=True` for models the legacy tracer cannot handle.
    """
    path = Path(path)
    module.eval()
    args = _trace_args(signature, sample_inputs)
    try:
        if dynamo:
            _export_dynamo(module, args, path, signature, opset)
        else:
            _export_legacy(module, args, path, signature, opset)
    except Exception as err:  # the exporters raise many unrelated types
        raise ExportError(f"torch.onnx.export of {type(module).__name__} failed: {err}") from err
    check_onnx(path, signature, opset)


def _export_legacy(
    module: nn.Module, args: tuple[torch.Tensor, ...], path: Path, signature: Signature, opset: int
) -> None:
    names = [spec.name for spec in (*signature.inputs, *signature.outputs)]
    with warnings.catch_warnings():
        # deprecated since torch 2.9 but chosen on purpose (see export_onnx)
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(
            module,
            args,
            str(path),
            input_names=[spec.name for spec in signature.inputs],
            output_names=[spec.name for spec in signature.outputs],
            dynamic_axes={name: {0: BATCH} for name in names},
            opset_version=opset,
            external_data=False,
            dynamo=False,
        )


def _export_dynamo(
    module: nn.Module, args: tuple[torch.Tensor, ...], path: Path, signature: Signature, opset: int
) -> None:
    # dynamic_shapes is keyed by forward()'s parameter names, not by input_names
    params = list(inspect.signature(module.forward).parameters)[: len(args)]
    batch = torch.export.Dim(BATCH)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # torch-internal pytree deprecations
        program = torch.onnx.export(
            module,
            args,
            input_names=[spec.name for spec in signature.inputs],
            output_names=[spec.name for spec in signature.outputs],
            dynamic_shapes={param: {0: batch} for param in params},
            opset_version=opset,
            dynamo=True,
            verbose=False,
        )
    if program is None:
        raise ExportError("torch.onnx.export(dynamo=True) returned no program")
    program.save(str(path), external_data=False)


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


def _trace_args(
    signature: Signature, sample_inputs: dict[str, np.ndarray]
) -> tuple[torch.Tensor, ...]:
    args = []
    for spec in signature.inputs:
        if spec.name not in sample_inputs:
            raise ExportError(
                f"no sample for input {spec.name!r} (samples given: {sorted(sample_inputs)})"
            )
        array = np.asarray(sample_inputs[spec.name], dtype=spec.dtype)[:2]
        if array.ndim == 0 or array.shape[0] == 0:
            raise ExportError(f"the sample for input {spec.name!r} has no rows")
        if array.shape[0] < 2:  # a batch of 1 lets tracers specialise the batch axis to 1
            array = np.concatenate([array, array])[:2]
        args.append(torch.from_numpy(np.ascontiguousarray(array)))
    return tuple(args)
