"""Lower-precision copies of an fp32 ONNX graph: int8 (CPU) and fp16 (GPU).

- int8: ONNX Runtime's dynamic quantisation, weights int8 **per channel**. On
  all-MiniLM-L6-v2 per-tensor weights dropped the min cosine to fp32 to ~0.68 on
  some texts; per channel keeps it near 0.97-0.99, and int8 ran ~1.5-2.5x faster
  on the CPU provider (NOTES, and the figures in the README).
- fp16: `onnxruntime.transformers.float16` with `keep_io_types=True`, so the
  graph's inputs and outputs keep the signature's dtypes (float32 in and out) and
  clients see no difference. fp16 is a GPU format: on the CPU provider it is
  slower than fp32.
"""

from __future__ import annotations

import heapq
import logging
import warnings
from collections.abc import Callable
from pathlib import Path

import onnx
from onnx import helper, numpy_helper

from export.errors import ExportError


def quantize_int8(source: Path, target: Path) -> None:
    """Write a dynamically quantised copy of `source` (int8 weights, per channel).

    Only MatMul is quantised. Gemm (what the legacy exporter makes of `nn.Linear`)
    has no dynamic int8 kernel, so it is first rewritten as MatMul + Add. Conv stays
    fp32: ConvInteger made the digits CNN 5x slower. The embedding table (Gather)
    stays fp32 too: quantising it shrank the encoder to 23 MB instead of 59 MB but
    lowered the min cosine to fp32 on the held-out texts (0.958 against 0.964)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    staged = target.with_name(f".{target.name}.matmul")
    onnx.save(gemm_as_matmul(onnx.load(str(source))), str(staged))
    # the quantiser logs a "consider pre-processing" warning through the root logger
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        quantize_dynamic(
            str(staged),
            str(target),
            weight_type=QuantType.QInt8,
            per_channel=True,
            op_types_to_quantize=["MatMul"],
        )
    finally:
        root.setLevel(level)
        staged.unlink(missing_ok=True)


def gemm_as_matmul(model: onnx.ModelProto) -> onnx.ModelProto:
    """`model` with each plain Gemm on a constant weight (alpha = beta = 1, A not
    transposed) replaced by MatMul (+ Add for the bias): the same arithmetic in ops the
    dynamic quantiser handles."""
    weights = {init.name: init for init in model.graph.initializer}
    nodes: list[onnx.NodeProto] = []
    replaced: set[str] = set()
    for node in model.graph.node:
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        plain = attrs.get("alpha", 1.0) == 1.0 and attrs.get("beta", 1.0) == 1.0
        if (
            node.op_type != "Gemm"
            or not plain
            or attrs.get("transA", 0)
            or node.input[1] not in weights
        ):
            nodes.append(node)
            continue
        weight = numpy_helper.to_array(weights[node.input[1]])
        replaced.add(node.input[1])
        transposed = bool(attrs.get("transB", 0))
        name = f"{node.input[1]}_matmul{'_t' if transposed else ''}"
        if name not in weights:  # a weight shared by several Gemms is written once
            weights[name] = numpy_helper.from_array(weight.T.copy() if transposed else weight, name)
            model.graph.initializer.append(weights[name])
        has_bias = len(node.input) > 2 and node.input[2] != ""
        product = f"{node.output[0]}_matmul" if has_bias else node.output[0]
        nodes.append(helper.make_node("MatMul", [node.input[0], name], [product], node.name))
        if has_bias:
            nodes.append(
                helper.make_node(
                    "Add", [product, node.input[2]], [node.output[0]], f"{node.name}_bias"
                )
            )
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    # drop the fp32 weights only the replaced Gemms used, or the file keeps both copies
    used = {name for node in nodes for name in node.input}
    kept = [i for i in model.graph.initializer if i.name in used or i.name not in replaced]
    del model.graph.initializer[:]
    model.graph.initializer.extend(kept)
    return model


def convert_fp16(source: Path, target: Path) -> None:
    """Write an fp16 copy of `source` whose inputs and outputs keep their fp32 types."""
    from onnxruntime.transformers.float16 import convert_float_to_float16

    model = onnx.load(str(source))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # values clamped to the fp16 range
        half = convert_float_to_float16(model, keep_io_types=True)
    # the converter appends the input casts after the nodes that read them; ONNX Runtime
    # does not mind, the ONNX checker (and other runtimes) do
    sort_nodes(half.graph)
    onnx.save(half, str(target))


def sort_nodes(graph: onnx.GraphProto) -> None:
    """Put `graph`'s nodes in an order where each runs after the nodes it reads from,
    keeping the existing order wherever it is already valid. (Outer-scope names read
    inside an If/Loop body are not tracked; the graphs exported here have none.)"""
    nodes = list(graph.node)
    producer = {out: i for i, node in enumerate(nodes) for out in node.output if out}
    readers: dict[int, list[int]] = {}
    waiting = []
    for i, node in enumerate(nodes):
        needs = {producer[name] for name in node.input if name in producer} - {i}
        waiting.append(len(needs))
        for j in needs:
            readers.setdefault(j, []).append(i)
    ready = [i for i, count in enumerate(waiting) if count == 0]
    heapq.heapify(ready)
    order = []
    while ready:
        i = heapq.heappop(ready)
        order.append(i)
        for reader in readers.get(i, []):
            waiting[reader] -= 1
            if waiting[reader] == 0:
                heapq.heappush(ready, reader)
    if len(order) != len(nodes):
        raise ExportError(f"graph {graph.name!r} has a cycle; cannot order its nodes")
    del graph.node[:]
    graph.node.extend(nodes[i] for i in order)


#: How to make each precision from an fp32 graph.
CONVERTERS: dict[str, Callable[[Path, Path], None]] = {
    "int8": quantize_int8,
    "fp16": convert_fp16,
}


def convert(precision: str, source: Path, target: Path) -> None:
    """Write the `precision` copy of `source` to `target`."""
    try:
        converter = CONVERTERS[precision]
    except KeyError:
        known = ", ".join(sorted(CONVERTERS))
        raise ExportError(f"unknown precision {precision!r} (known: {known})") from None
    try:
        converter(source, target)
    except ExportError:
        raise
    except Exception as err:  # the converters raise many unrelated types
        raise ExportError(f"{precision} conversion of {source} failed: {err}") from err
