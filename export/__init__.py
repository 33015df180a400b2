"""The artifact contract (torch-free) and the torch side of exporting.

Importing this package imports nothing heavy: the contract modules
(`signature`, `manifest`, `registry`, `errors`) need only the standard library
and numpy; the torch side (`onnx`, `verify`, `publish`) is imported explicitly.
"""
