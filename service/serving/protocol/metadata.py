"""Server and model metadata, and the Triton-style model configuration."""

from __future__ import annotations

from importlib import metadata
from typing import Any

from export.signature import TensorSpec
from service.runtime import ModelRuntime

PLATFORM = "onnxruntime_onnx"
EXTENSIONS = ["binary_tensor_data", "model_configuration"]


def server_metadata() -> dict[str, Any]:
    """`GET /v2`."""
    try:
        version = metadata.version("ferry")
    except metadata.PackageNotFoundError:
        version = "unknown"
    return {"name": "ferry", "version": version, "extensions": EXTENSIONS}


def tensor_metadata(spec: TensorSpec) -> dict[str, Any]:
    return {"name": spec.name, "datatype": spec.datatype, "shape": list(spec.shape)}


def model_metadata(runtime: ModelRuntime, versions: list[str]) -> dict[str, Any]:
    """`GET /v2/models/{name}[/versions/{v}]`: built from the manifest, nothing hard-coded.

    A text model shows the interface clients use (one `BYTES` input `text`), not
    the token tensors its graph takes.
    """
    signature = runtime.interface
    parameters: dict[str, Any] = {
        "version": runtime.version,
        "providers": runtime.providers,
        "labels": runtime.manifest.labels,
        "features": runtime.manifest.features,
        **runtime.placement.describe(),  # threads and instances this model got, and why
    }
    if runtime.text is not None:
        parameters.update(task=runtime.manifest.task, max_length=runtime.text.max_length)
    return {
        "name": runtime.name,
        "versions": versions,
        "platform": PLATFORM,
        "inputs": [tensor_metadata(s) for s in signature.inputs],
        "outputs": [tensor_metadata(s) for s in signature.outputs],
        "parameters": parameters,
    }


def model_config(
    runtime: ModelRuntime, max_batch_size: int, max_latency_ms: float
) -> dict[str, Any]:
    """`GET .../config`: the Triton model configuration that perf_analyzer and friends read.

    With `max_batch_size` > 0 Triton lists `dims` without the batch axis.
    """
    signature = runtime.interface
    on_gpu = any(p != "CPUExecutionProvider" for p in runtime.providers)
    return {
        "name": runtime.name,
        "platform": PLATFORM,
        "backend": "onnxruntime",
        "version_policy": {
            "specific": {"versions": [int(runtime.version)] if runtime.version.isdigit() else []}
        },
        "max_batch_size": max_batch_size,
        "input": [_config_tensor(s) for s in signature.inputs],
        "output": [_config_tensor(s) for s in signature.outputs],
        "dynamic_batching": {
            "preferred_batch_size": [max_batch_size],
            "max_queue_delay_microseconds": int(max_latency_ms * 1000),
        },
        "instance_group": [
            {
                "name": runtime.name,
                "kind": "KIND_GPU" if on_gpu else "KIND_CPU",
                "count": runtime.placement.instances,
            }
        ],
        "parameters": {"providers": {"string_value": ",".join(runtime.providers)}},
    }


def _config_tensor(spec: TensorSpec) -> dict[str, Any]:
    datatype = spec.datatype
    tensor: dict[str, Any] = {
        "name": spec.name,
        "data_type": "TYPE_STRING" if datatype == "BYTES" else f"TYPE_{datatype}",
        "dims": list(spec.shape[1:]),
    }
    if not tensor["dims"]:
        # One value per row: Triton spells it dims [1] reshaped to [] (it allows no empty dims).
        tensor.update(dims=[1], reshape={"shape": []})
    return tensor
