"""The tokenizer of a text model: its spec in the manifest and the one way to load and run it.

A text model's manifest holds `preprocessing["tokenizer"]`:

    {"file": "tokenizer.json", "max_length": 128, "input_ids": "input_ids",
     "attention_mask": "attention_mask", "pad_id": 0}

Training writes it (`TokenizerSpec.to_dict`), export measures variants with it and the
service tokenises requests with it, all through this module, so the three can never
disagree on truncation or padding. `tokenizers` (Rust, no torch) is imported only
when a tokenizer is loaded.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

import numpy as np

from export.errors import ManifestError

if TYPE_CHECKING:
    from tokenizers import Tokenizer

    from export.manifest import Manifest

TOKENIZER_KEY = "tokenizer"


@dataclass(frozen=True)
class TokenizerSpec:
    """`manifest.preprocessing["tokenizer"]`: the file and how its output feeds the graph."""

    file: str
    max_length: int
    input_ids: str = "input_ids"
    attention_mask: str = "attention_mask"
    pad_id: int = 0

    @classmethod
    def from_manifest(cls, manifest: Manifest) -> TokenizerSpec | None:
        """The spec of a text model, None for any other model; `ManifestError` if malformed."""
        raw = manifest.preprocessing.get(TOKENIZER_KEY)
        if raw is None:
            return None
        where = f"{manifest.name}:{manifest.version}: preprocessing.tokenizer"
        spec = cls.parse(raw, where)
        spec.check(manifest, where)
        return spec

    @classmethod
    def parse(cls, raw: Any, where: str = "preprocessing.tokenizer") -> TokenizerSpec:
        """A spec from its JSON form, or `ManifestError` naming the bad key."""
        if not isinstance(raw, dict):
            raise ManifestError(f"{where}: expected an object, got {raw!r}")
        try:
            spec = cls(
                file=_typed(raw, "file", str),
                max_length=_typed(raw, "max_length", int),
                input_ids=_typed(raw, "input_ids", str, "input_ids"),
                attention_mask=_typed(raw, "attention_mask", str, "attention_mask"),
                pad_id=_typed(raw, "pad_id", int, 0),
            )
        except (KeyError, TypeError) as err:
            raise ManifestError(f"{where}: {err.args[0]}") from err
        if spec.max_length < 2 or spec.pad_id < 0:
            raise ManifestError(f"{where}: max_length {spec.max_length}, pad_id {spec.pad_id}")
        return spec

    def check(self, manifest: Manifest, where: str) -> None:
        """Refuse a spec that does not fit its artifact.

        A tokenizer outside manifest.files would load without a sha256 check, and a
        path with folders could point outside the artifact."""
        if PurePosixPath(self.file).name != self.file or self.file not in manifest.files:
            raise ManifestError(
                f"{where}: file {self.file!r} must be a file of the artifact listed in "
                f"manifest.files (listed: {sorted(manifest.files)})"
            )
        names = sorted(spec.name for spec in manifest.signature.inputs)
        if names != sorted([self.input_ids, self.attention_mask]):
            raise ManifestError(
                f"{where}: the graph takes {names}, the tokenizer feeds "
                f"{[self.input_ids, self.attention_mask]}"
            )

    def to_dict(self) -> dict[str, Any]:
        """The JSON form stored in `manifest.preprocessing["tokenizer"]`."""
        return asdict(self)

    def load(self, folder: Path) -> Tokenizer:
        """The tokenizer file in `folder`, truncating at `max_length`, padding to the longest
        text of a batch (never to a fixed length: ~7x faster on short texts)."""
        try:
            from tokenizers import Tokenizer
        except ImportError as err:
            raise ManifestError(
                f"a text model needs the `tokenizers` package to load {self.file!r}: {err}"
            ) from err
        try:
            tokenizer = Tokenizer.from_file(str(Path(folder) / self.file))
        except Exception as err:  # the Rust side raises plain Exception on a bad file
            raise ManifestError(f"tokenizer {self.file!r}: cannot load: {err}") from err
        tokenizer.enable_truncation(self.max_length)
        pad_token = tokenizer.id_to_token(self.pad_id) or "[PAD]"
        tokenizer.enable_padding(pad_id=self.pad_id, pad_token=pad_token)
        return tokenizer

    def encode(self, tokenizer: Tokenizer, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """`(input_ids, attention_mask)` as int64 `[rows, longest]`, padded with `pad_id`.

        Pads here rather than trusting the tokenizer's own padding, so a tokenizer
        configured either way gives the same rows."""
        encodings = tokenizer.encode_batch(list(texts))
        rows = [e.ids for e in encodings]
        if rows and len({len(r) for r in rows}) == 1:  # the tokenizer padded the batch itself
            ids = np.array(rows, dtype=np.int64)
            return ids, np.array([e.attention_mask for e in encodings], dtype=np.int64)
        lengths = [sum(e.attention_mask) for e in encodings]
        longest = max(lengths, default=0)
        ids = np.full((len(rows), longest), self.pad_id, dtype=np.int64)
        mask = np.zeros((len(rows), longest), dtype=np.int64)
        for row, (encoding, length) in enumerate(zip(encodings, lengths, strict=True)):
            ids[row, :length] = encoding.ids[:length]
            mask[row, :length] = 1
        return ids, mask

    def feeds(self, ids: np.ndarray, mask: np.ndarray) -> dict[str, np.ndarray]:
        """The graph's inputs by name."""
        return {self.input_ids: ids, self.attention_mask: mask}


def _typed(raw: dict[str, Any], key: str, kind: type, default: Any = None) -> Any:
    value = raw.get(key, default)
    if value is None:
        raise KeyError(f"missing {key!r}")
    if not isinstance(value, kind) or isinstance(value, bool):
        raise TypeError(f"{key}: expected {kind.__name__}, got {value!r}")
    return value
