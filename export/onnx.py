"""Export an `nn.Module` to a single, checked ONNX file that matches its `Signature`.

The exporter knows nothing about particular models: it takes a module, the
signature its graph must have, and sample inputs to trace with.
"""

from __future__ import annotations

import inspect
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from export.check import check_onnx, model_opset
from export.errors import ExportError
from export.signature import Signature, TensorSpec

__all__ = ["check_onnx", "dynamic_axes", "export_onnx", "model_opset"]

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
    """Write `module` to `path` as one ONNX file, then check it.

    Inputs and outputs are named after `signature`; every axis the signature marks
    -1 is dynamic in the graph (the batch axis, and e.g. a text model's sequence
    axis). The written file is checked with `full_check`, for its opset, names,
    dtypes and for axes fixed where the signature says dynamic.

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
    with warnings.catch_warnings():
        # deprecated since torch 2.9 but chosen on purpose (see export_onnx)
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(
            module,
            args,
            str(path),
            input_names=[spec.name for spec in signature.inputs],
            output_names=[spec.name for spec in signature.outputs],
            dynamic_axes=dynamic_axes(signature),
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
    # Other dynamic axes are AUTO: inputs whose lengths must agree (input_ids and
    # attention_mask) would fail with separate named Dims, and AUTO finds the relation.
    shapes = {
        param: {axis: batch if axis == 0 else torch.export.Dim.AUTO for axis in _dynamic(spec)}
        for param, spec in zip(params, signature.inputs, strict=True)
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # torch-internal pytree deprecations
        program = torch.onnx.export(
            module,
            args,
            input_names=[spec.name for spec in signature.inputs],
            output_names=[spec.name for spec in signature.outputs],
            dynamic_shapes=shapes,
            opset_version=opset,
            dynamo=True,
            verbose=False,
        )
    if program is None:
        raise ExportError("torch.onnx.export(dynamo=True) returned no program")
    program.save(str(path), external_data=False)


def dynamic_axes(signature: Signature) -> dict[str, dict[int, str]]:
    """The legacy exporter's `dynamic_axes`: every -1 axis of every input and output.

    Axis 0 is `batch`; other axes are named after their tensor (`input_ids_1`), since
    one shared name would claim that two tensors' lengths are equal, which the
    signature does not say.
    """
    return {
        spec.name: {axis: BATCH if axis == 0 else f"{spec.name}_{axis}" for axis in _dynamic(spec)}
        for spec in (*signature.inputs, *signature.outputs)
    }


def _dynamic(spec: TensorSpec) -> list[int]:
    return [axis for axis, size in enumerate(spec.shape) if size == -1]


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
