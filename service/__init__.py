"""Serving and scoring: ONNX Runtime sessions behind a batched HTTP service and batch jobs.

Three rooms:
- `service.runtime`: the framework-free core (sessions, providers, validation,
  tokenisation), imported by both others and importing neither;
- `service.serving`: the online server (BentoML app, lean front, V2, batcher, model set);
- `service.scoring`: batch scoring of files (local and Ray engines).
Serving and scoring never import each other. `service.app:Ferry` is the BentoML
entry point. Imports only the export contract — never torch, never training.
"""
