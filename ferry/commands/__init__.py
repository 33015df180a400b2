"""One module per subcommand; each imports torch, ONNX Runtime or BentoML inside its functions.

May import every package; the `ferry` CLI is the top layer.
"""
