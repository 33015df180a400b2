"""The careful scoring script a user writes by hand: pyarrow `iter_batches` → ONNX Runtime →
`ParquetWriter`, streaming, in one process, with nothing else.

No validation, no rejects, no resumption, no atomic publish: every row is assumed
good. It reads only the columns it needs, builds each batch's matrix in one Arrow
pass, runs the session with ONNX Runtime's default threads (every core), and
writes the id columns, one column per output element and the predicted label.

    python -m loadtests.peers.stream_score MODEL.onnx IN.parquet OUT.parquet \\
        --features f1,f2,... | --input-column pixels --id id [--labels a,b] [--batch 65536]
"""

from __future__ import annotations

import argparse

import numpy as np
import onnxruntime as ort
import pyarrow as pa
import pyarrow.parquet as pq


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    session = ort.InferenceSession(args.model, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    shape = [d if isinstance(d, int) else -1 for d in session.get_inputs()[0].shape]
    inputs = args.features.split(",") if args.features else [args.input_column]
    labels = np.array(args.labels.split(",")) if args.labels else None
    source = pq.ParquetFile(args.input)
    writer = None
    for batch in source.iter_batches(batch_size=args.batch, columns=[*args.id, *inputs]):
        if args.features:
            x = batch.select(inputs).to_tensor(row_major=True).to_numpy()
        else:  # one list column: its flat values, reshaped
            x = batch.column(args.input_column).flatten().to_numpy()
        x = x.reshape([batch.num_rows, *shape[1:]]).astype(np.float32, copy=False)
        (out,) = session.run(None, {name: x})[:1]
        columns = {c: batch.column(c) for c in args.id}
        flat = out.reshape(batch.num_rows, -1)
        columns.update({f"out_{j}": pa.array(flat[:, j]) for j in range(flat.shape[1])})
        if labels is not None:
            columns["prediction"] = pa.array(labels[flat.argmax(axis=1)])
        table = pa.table(columns)
        if writer is None:
            writer = pq.ParquetWriter(args.output, table.schema)
        writer.write_table(table)
    if writer is not None:
        writer.close()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("input")
    parser.add_argument("output")
    parser.add_argument("--features", default="", help="scalar feature columns, in order")
    parser.add_argument("--input-column", default="", help="or one list column")
    parser.add_argument("--id", action="append", default=[], help="id columns to copy")
    parser.add_argument("--labels", default="", help="class names, in output order")
    parser.add_argument("--batch", type=int, default=65536)
    return parser


if __name__ == "__main__":
    main()
