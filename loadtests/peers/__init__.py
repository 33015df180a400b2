"""Services a user might write instead of ferry, served side by side for comparison.

Written as a user would, with ONNX Runtime, FastAPI or BentoML directly; they take
only the registry from ferry, to find the model file.
"""
