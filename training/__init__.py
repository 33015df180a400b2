"""Training: datasets, models with their configs, the train loop, checkpoints and recipes.

This package is the torch side of ferry: it may import torch and the export package;
`service/` never imports it, and it never imports `service/`.
"""
