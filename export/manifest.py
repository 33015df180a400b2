"""`manifest.json`: everything an artifact says about itself.

The service builds its request schema and V2 metadata from the manifest alone,
so every field a consumer needs lives here, never in code.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from export.errors import IntegrityError, ManifestError
from export.signature import Signature

MANIFEST = "manifest.json"
MODEL_FILE = "model.onnx"
FORMAT = 1


@dataclass(frozen=True)
class Parity:
    """Result of comparing ONNX Runtime against PyTorch on the same rows."""

    max_abs_diff: float
    tolerance: float
    rows: int
    passed: bool


@dataclass(frozen=True)
class Manifest:
    name: str
    version: str
    signature: Signature
    labels: list[str]
    files: dict[str, str]
    parity: Parity
    created_at: str
    opset: int
    task: str = ""
    features: list[str] = field(default_factory=list)
    preprocessing: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    data_fingerprint: str = ""
    code_revision: str = ""
    training: dict[str, Any] = field(default_factory=dict)
    # {} for a plain export; for a version made from another one by `export.variants`:
    # precision, source_version, quality against the source and speed beside it
    variant: dict[str, Any] = field(default_factory=dict)
    # what a card plots, all optional (absent in versions published before it was recorded):
    # learning_curve, confusion_matrix, roc, precision_recall, calibration, parity_cosines
    evaluation: dict[str, Any] = field(default_factory=dict)
    # reference statistics of the training data and of the predictions on held-out rows
    # (`export.drift.Reference`); {} for versions published before they were recorded,
    # which serve as before with no drift measured
    drift: dict[str, Any] = field(default_factory=dict)
    format: int = FORMAT

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["signature"] = self.signature.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Manifest:
        try:
            fields = dict(data)
            fields["signature"] = Signature.from_dict(data["signature"])
            fields["parity"] = Parity(**data["parity"])
            return cls(**fields)
        except (KeyError, TypeError, ValueError) as err:
            raise ManifestError(f"invalid manifest: {err}") from err

    def write(self, folder: Path) -> Path:
        path = folder / MANIFEST
        atomic_write_text(path, json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n")
        return path

    @classmethod
    def read(cls, folder: Path) -> Manifest:
        path = folder / MANIFEST
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError as err:
            raise ManifestError(f"no {MANIFEST} in {folder}") from err
        except json.JSONDecodeError as err:
            raise ManifestError(f"{path} is not valid JSON: {err}") from err
        return cls.from_dict(data)

    def verify_files(self, folder: Path) -> None:
        """Raise `IntegrityError` unless every listed file has its recorded sha256."""
        if MODEL_FILE not in self.files:
            raise ManifestError(f"manifest of {self.name}:{self.version} lists no {MODEL_FILE}")
        bad = first_mismatch(folder, self.files)
        if bad is None:
            return
        name, actual = bad
        if actual is None:
            raise IntegrityError(f"{self.name}:{self.version}: file {name!r} is missing")
        raise IntegrityError(
            f"{self.name}:{self.version}: sha256 of {name!r} is {actual}, "
            f"manifest says {self.files[name]}; refusing to load a modified artifact"
        )


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def first_mismatch(folder: Path, expected: Mapping[str, str]) -> tuple[str, str | None] | None:
    """The first of `expected`'s files (name → sha256) in `folder` that is missing (digest
    None) or has another sha256 (its actual digest); None when every one matches."""
    for name, digest in expected.items():
        path = folder / name
        if not path.is_file():
            return name, None
        actual = sha256_file(path)
        if actual != digest:
            return name, actual
    return None


def atomic_write_text(path: Path, text: str) -> None:
    """Write `text` so that readers see the old file or the new one, never a part."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with tmp.open("w") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
