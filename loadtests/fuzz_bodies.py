"""Hypothesis strategies for request bodies a fuzzer sends: near-valid and hostile.

Each strategy is built from a model's V2 metadata (input names, datatypes, shapes),
so most bodies get past the first checks and exercise the deep ones: shapes that do
not fit, datatypes that do not convert, binary parts whose sizes lie, numbers that
do not fit, nesting that does not end. A body is `(path, content, headers)`.
"""

from __future__ import annotations

import json
import math
import struct
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

DATATYPES = [
    "BOOL",
    "UINT8",
    "UINT16",
    "UINT32",
    "UINT64",
    "INT8",
    "INT16",
    "INT32",
    "INT64",
    "FP16",
    "FP32",
    "FP64",
    "BYTES",
]
Body = tuple[str, bytes, dict[str, str]]


@dataclass(frozen=True)
class Input:
    """One input of a model as its V2 metadata describes it."""

    name: str
    datatype: str
    shape: tuple[int, ...]


@dataclass(frozen=True)
class Model:
    name: str
    inputs: tuple[Input, ...]
    text: bool

    @classmethod
    def from_metadata(cls, meta: dict[str, Any]) -> Model:
        inputs = tuple(Input(i["name"], i["datatype"], tuple(i["shape"])) for i in meta["inputs"])
        return cls(meta["name"], inputs, any(i.datatype == "BYTES" for i in inputs))


def _dims(want: tuple[int, ...]) -> st.SearchStrategy[list[int]]:
    """Shapes around the metadata's: right, off by a little, or absurd."""
    fixed = [d if d > 0 else 1 for d in want]
    rows = st.integers(0, 70) | st.sampled_from([1, 2, 2**31, 2**62, 2**63 - 1])
    right = rows.map(lambda r: [r, *fixed[1:]])
    wrong = st.lists(st.integers(0, 2**63 - 1) | st.integers(0, 40), min_size=0, max_size=6)
    return st.one_of(right, right, wrong)


_leaf = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True, width=64),
    st.integers(-(2**70), 2**70),
    st.booleans(),
    st.none(),
    st.text(max_size=12),
)


def _data(count_hint: int) -> st.SearchStrategy[Any]:
    flat = st.lists(_leaf, min_size=0, max_size=max(count_hint + 2, 4))
    nested = st.recursive(_leaf, lambda inner: st.lists(inner, max_size=4), max_leaves=40)
    floats = st.lists(st.floats(-1e6, 1e6, width=32), min_size=count_hint, max_size=count_hint)
    return st.one_of(floats, floats, flat, nested)


@st.composite
def v2_tensor(draw: st.DrawFn, spec: Input, names: list[str]) -> dict[str, Any]:
    shape = draw(_dims(spec.shape))
    count = math.prod(shape) if shape and math.prod(shape) < 400 else 4
    tensor: dict[str, Any] = {
        "name": draw(st.sampled_from(names) | st.text(max_size=20)),
        "shape": shape,
        "datatype": draw(st.sampled_from([spec.datatype, *DATATYPES]) | st.text(max_size=6)),
    }
    if spec.datatype == "BYTES":
        tensor["data"] = draw(st.lists(st.text(max_size=40) | _leaf, max_size=count + 2))
    else:
        tensor["data"] = draw(_data(count))
    if draw(st.booleans()):
        tensor["parameters"] = draw(
            st.dictionaries(st.sampled_from(["binary_data_size", "x"]), _leaf, max_size=2)
        )
    return tensor


def _parameters() -> st.SearchStrategy[dict[str, Any]]:
    # no `timeout`: a deadline of 1 us is answered 504, rightly, and would read as a fault
    keys = st.sampled_from(["binary_data_output", "priority", "sequence_id", "x"])
    return st.dictionaries(keys, _leaf, max_size=3)


@st.composite
def v2_json(draw: st.DrawFn, model: Model) -> Body:
    """A V2 request in JSON."""
    names = [i.name for i in model.inputs]
    inputs = [draw(v2_tensor(spec, names)) for spec in model.inputs]
    if draw(st.integers(0, 9)) == 0:
        inputs = draw(st.lists(v2_tensor(model.inputs[0], names), max_size=3))
    body: dict[str, Any] = {"inputs": inputs}
    if draw(st.booleans()):
        body["id"] = draw(st.text(max_size=20) | st.integers(-(2**80), 2**80) | st.floats())
    if draw(st.booleans()):
        body["parameters"] = draw(_parameters())
    if draw(st.booleans()):
        body["outputs"] = draw(
            st.lists(
                st.fixed_dictionaries(
                    {"name": st.text(max_size=12)},
                    optional={"parameters": st.dictionaries(st.just("binary_data"), _leaf)},
                ),
                max_size=3,
            )
        )
    return _path(draw, model.name, "/infer"), _dumps(body), {"Content-Type": "application/json"}


@st.composite
def v2_binary(draw: st.DrawFn, model: Model) -> Body:
    """A V2 request with the binary tensor data extension, its sizes true or not."""
    spec = model.inputs[0]
    shape = draw(_dims(spec.shape))
    itemsize = 4 if spec.datatype in ("FP32", "INT32", "UINT32") else 8
    true_size = (math.prod(shape) * itemsize) if shape and math.prod(shape) < 4096 else 16
    if spec.datatype == "BYTES":
        texts = draw(st.lists(st.text(max_size=30), min_size=0, max_size=6))
        payload = b"".join(struct.pack("<I", len(t.encode())) + t.encode() for t in texts)
        payload = draw(st.sampled_from([payload, payload[:-1], payload + b"\0", b"\xff" * 7]))
    else:
        payload = draw(st.binary(min_size=0, max_size=64) | st.just(b"\0" * true_size))
    size = draw(st.sampled_from([len(payload), len(payload) + 1, 0]) | st.integers(-5, 2**40))
    tensor: dict[str, Any] = {
        "name": draw(st.sampled_from([spec.name, "nope"])),
        "shape": shape,
        "datatype": draw(st.sampled_from([spec.datatype, *DATATYPES])),
        "parameters": {"binary_data_size": size},
    }
    head = _dumps({"inputs": [tensor], "parameters": draw(_parameters())})
    header = draw(st.sampled_from([str(len(head)), str(len(head) + 3), "-1", "x"]))
    headers = {"Inference-Header-Content-Length": header}
    headers["Content-Type"] = "application/octet-stream"
    return _path(draw, model.name, "/infer"), head + payload, headers


@st.composite
def typed(draw: st.DrawFn, model: Model) -> Body:
    """A `/predict` body: named nested lists (or texts for a text model)."""
    spec = model.inputs[0]
    body: dict[str, Any] = {"model": draw(st.sampled_from([model.name, model.name, "nope"]))}
    if model.text and draw(st.booleans()):
        body["texts"] = draw(st.lists(st.text(max_size=60) | _leaf, max_size=6) | _leaf)
    else:
        width = [d if d > 0 else 3 for d in spec.shape[1:]]
        row = st.recursive(_leaf, lambda inner: st.lists(inner, max_size=4), max_leaves=30)
        exact = st.lists(_shaped(width), min_size=0, max_size=5)
        body["inputs"] = {draw(st.sampled_from([spec.name, "nope"])): draw(exact | row)}
    return "/predict", _dumps(body), {"Content-Type": "application/json"}


def _shaped(dims: list[int]) -> st.SearchStrategy[Any]:
    if not dims:
        return st.floats(-10, 10, width=32)
    inner = _shaped(dims[1:])
    return st.lists(inner, min_size=dims[0], max_size=dims[0])


@st.composite
def garbage(draw: st.DrawFn, model: Model) -> Body:
    """Bytes that are hardly JSON: truncated, deeply nested, huge numbers, not UTF-8."""
    choices = [
        b"[" * draw(st.integers(1, 3000)),
        b'{"inputs": ' + b"[" * 1100 + b"]" * 1100 + b"}",
        b'{"inputs": [[' + b"9" * draw(st.integers(300, 6000)) + b"]]}",
        draw(st.binary(max_size=200)),
        b'{"inputs": [{"name": "' + b"\xff\xfe" * 10 + b'"}]}',
    ]
    path = draw(st.sampled_from(["/predict", _path(draw, model.name, "/infer")]))
    return path, draw(st.sampled_from(choices)), {"Content-Type": "application/json"}


def _path(draw: st.DrawFn, name: str, tail: str) -> str:
    version = draw(st.sampled_from(["", "", "/versions/1", "/versions/999"]))
    model = draw(st.sampled_from([name, name, name, "nope"]))
    return f"/v2/models/{model}{version}{tail}"


def _dumps(body: Any) -> bytes:
    # allow_nan: NaN and Infinity literals are what some clients send
    return json.dumps(body, allow_nan=True).encode()


def bodies(models: list[Model]) -> st.SearchStrategy[tuple[str, Body]]:
    """(kind, body) over every model and kind of body."""
    kinds = [("v2-json", v2_json), ("v2-binary", v2_binary), ("typed", typed), ("garbage", garbage)]
    return st.one_of(
        *(st.tuples(st.just(kind), make(model)) for kind, make in kinds for model in models)
    )
