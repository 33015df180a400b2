"""The artifact contract (torch-free) and the torch side of exporting.

Importing this package imports nothing heavy. The contract modules (`signature`,
`manifest`, `registry`, `reference`, `tokenizer`, `session`, `errors`, ...) need
only the standard library, numpy and (for `session`) onnxruntime; everything
else may import them. The torch side (`onnx`, `verify`, `publish`, `variants`,
`optimize`, `check`, `metadata`, `quality`) is imported explicitly, by training
and the CLI. `export` imports nothing of ferry's other packages.
"""
