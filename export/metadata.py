"""Metadata stored inside an ONNX file (`metadata_props`), readable by any runtime.

ONNX Runtime exposes it as `session.get_modelmeta().custom_metadata_map`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import onnx
from onnx import helper


def write_metadata(path: Path, props: dict[str, Any]) -> None:
    """Set `props` on the model at `path` (strings as-is, everything else as JSON), in place.

    Entries already in the file are replaced; the graph is untouched and re-checked.
    """
    model = onnx.load(str(path))
    current = {entry.key: entry.value for entry in model.metadata_props}
    current.update({key: _encode(value) for key, value in props.items()})
    helper.set_model_props(model, current)
    onnx.save(model, str(path))
    onnx.checker.check_model(str(path), full_check=True)


def read_metadata(path: Path) -> dict[str, str]:
    """The metadata entries of the model at `path`, as stored (strings)."""
    model = onnx.load(str(path), load_external_data=False)
    return {entry.key: entry.value for entry in model.metadata_props}


def _encode(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)
