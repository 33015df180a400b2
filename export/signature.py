"""Named, typed tensors: what a model takes and what it returns.

Shapes use -1 for a dynamic axis (the batch axis is always axis 0). Data types
are numpy names (`float32`); `v2_datatype` gives the Open Inference Protocol name.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

# numpy dtype name <-> Open Inference Protocol V2 datatype
_V2 = {
    "bool": "BOOL",
    "uint8": "UINT8",
    "uint16": "UINT16",
    "uint32": "UINT32",
    "uint64": "UINT64",
    "int8": "INT8",
    "int16": "INT16",
    "int32": "INT32",
    "int64": "INT64",
    "float16": "FP16",
    "float32": "FP32",
    "float64": "FP64",
    "object": "BYTES",
}
_FROM_V2 = {v: k for k, v in _V2.items()}


def v2_datatype(dtype: str) -> str:
    """V2 datatype name for a numpy dtype name (`float32` -> `FP32`)."""
    try:
        return _V2[np.dtype(dtype).name]
    except (KeyError, TypeError) as err:
        raise ValueError(f"dtype {dtype!r} has no Open Inference Protocol datatype") from err


def numpy_dtype(datatype: str) -> str:
    """numpy dtype name for a V2 datatype name (`FP32` -> `float32`)."""
    try:
        return _FROM_V2[datatype]
    except KeyError as err:
        raise ValueError(
            f"unknown datatype {datatype!r}; expected one of {sorted(_FROM_V2)}"
        ) from err


@dataclass(frozen=True)
class TensorSpec:
    """One named tensor: dtype and shape (-1 marks a dynamic axis)."""

    name: str
    dtype: str
    shape: tuple[int, ...]

    @property
    def datatype(self) -> str:
        return v2_datatype(self.dtype)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype, "shape": list(self.shape)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TensorSpec:
        return cls(str(data["name"]), str(data["dtype"]), tuple(int(d) for d in data["shape"]))


@dataclass(frozen=True)
class Signature:
    """The inputs and outputs of a model, in order."""

    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]

    def input(self, name: str) -> TensorSpec:
        return _find(self.inputs, name, "input")

    def output(self, name: str) -> TensorSpec:
        return _find(self.outputs, name, "output")

    def to_dict(self) -> dict[str, Any]:
        return {
            "inputs": [t.to_dict() for t in self.inputs],
            "outputs": [t.to_dict() for t in self.outputs],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Signature:
        return cls(
            tuple(TensorSpec.from_dict(t) for t in data["inputs"]),
            tuple(TensorSpec.from_dict(t) for t in data["outputs"]),
        )


def _find(specs: Iterable[TensorSpec], name: str, kind: str) -> TensorSpec:
    for spec in specs:
        if spec.name == name:
            return spec
    raise KeyError(f"no {kind} named {name!r}")
