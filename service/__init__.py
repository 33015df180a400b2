"""Serving: ONNX Runtime sessions behind a batched HTTP service and batch jobs.

Imports only the export contract — never torch, never training.
"""
