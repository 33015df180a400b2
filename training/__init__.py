"""Training: datasets, models with their configs, the train loop, checkpoints and recipes.

This package is the torch side of ferry; `service/` never imports it.
"""
