"""What a text model's manifest says about its tokenizer, checked before anything is loaded."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from export.manifest import Manifest
from export.signature import Signature, TensorSpec
from service.errors import ModelLoadError

TEXT_INPUT = "text"  # the one input a text model shows its clients


@dataclass(frozen=True)
class TokenizerSpec:
    """`manifest.preprocessing["tokenizer"]`: the file and how its output feeds the graph."""

    file: str
    max_length: int
    input_ids: str
    attention_mask: str
    pad_id: int

    @classmethod
    def from_manifest(cls, manifest: Manifest) -> TokenizerSpec | None:
        """The spec of a text model, None for any other model; `ModelLoadError` if malformed."""
        raw = manifest.preprocessing.get("tokenizer")
        if raw is None:
            return None
        where = f"{manifest.name}:{manifest.version}: preprocessing.tokenizer"
        spec = cls._parse(raw, where)
        spec._check(manifest, where)
        return spec

    @classmethod
    def _parse(cls, raw: Any, where: str) -> TokenizerSpec:
        if not isinstance(raw, dict):
            raise ModelLoadError(f"{where}: expected an object, got {raw!r}")
        try:
            spec = cls(
                file=_typed(raw, "file", str),
                max_length=_typed(raw, "max_length", int),
                input_ids=_typed(raw, "input_ids", str, "input_ids"),
                attention_mask=_typed(raw, "attention_mask", str, "attention_mask"),
                pad_id=_typed(raw, "pad_id", int, 0),
            )
        except (KeyError, TypeError) as err:
            raise ModelLoadError(f"{where}: {err.args[0]}") from err
        if spec.max_length < 2 or spec.pad_id < 0:
            raise ModelLoadError(f"{where}: max_length {spec.max_length}, pad_id {spec.pad_id}")
        return spec

    def _check(self, manifest: Manifest, where: str) -> None:
        # A tokenizer outside manifest.files would load without a sha256 check, and a
        # path with folders could point outside the artifact: refuse both.
        if PurePosixPath(self.file).name != self.file or self.file not in manifest.files:
            raise ModelLoadError(
                f"{where}: file {self.file!r} must be a file of the artifact listed in "
                f"manifest.files (listed: {sorted(manifest.files)})"
            )
        names = sorted(spec.name for spec in manifest.signature.inputs)
        if names != sorted([self.input_ids, self.attention_mask]):
            raise ModelLoadError(
                f"{where}: the graph takes {names}, the tokenizer feeds "
                f"{[self.input_ids, self.attention_mask]}"
            )


def served_signature(signature: Signature) -> Signature:
    """What clients see: one `text` input of strings (V2 `BYTES`), the graph's outputs."""
    return Signature((TensorSpec(TEXT_INPUT, "object", (-1,)),), signature.outputs)


def _typed(raw: dict[str, Any], key: str, kind: type, default: Any = None) -> Any:
    value = raw.get(key, default)
    if value is None:
        raise KeyError(f"missing {key!r}")
    if not isinstance(value, kind) or isinstance(value, bool):
        raise TypeError(f"{key}: expected {kind.__name__}, got {value!r}")
    return value
