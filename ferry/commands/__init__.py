"""One module per subcommand; each imports torch, ONNX Runtime or BentoML inside its functions."""
