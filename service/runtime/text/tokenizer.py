"""The artifact's tokenizer file, read by the `tokenizers` library (no torch, no transformers)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from export.errors import ExportError
from export.tokenizer import TokenizerSpec
from service.runtime.errors import ModelLoadError
from service.runtime.text.tokens import Tokens

if TYPE_CHECKING:
    from tokenizers import Tokenizer  # loaded by `TokenizerSpec.load` for text models only


class TextTokenizer:
    """Turns texts into the graph's `input_ids` and `attention_mask`, truncated to max length."""

    def __init__(self, tokenizer: Tokenizer, spec: TokenizerSpec) -> None:
        self.tokenizer = tokenizer
        self.spec = spec

    @property
    def max_length(self) -> int:
        return self.spec.max_length

    @classmethod
    def load(cls, folder: Path, spec: TokenizerSpec) -> TextTokenizer:
        """Load `spec.file` from a verified artifact folder; `ModelLoadError` if unreadable."""
        try:
            return cls(spec.load(folder), spec)
        except ExportError as err:
            raise ModelLoadError(str(err)) from err

    def encode(self, texts: Sequence[str]) -> Tokens:
        """Token rows for validated texts, padded to the longest of them."""
        return Tokens(*self.spec.encode(self.tokenizer, texts))

    def feeds(self, tokens: Tokens) -> dict[str, np.ndarray]:
        """The graph's inputs by name."""
        return self.spec.feeds(tokens.ids, tokens.mask)

    def pads(self) -> dict[str, int]:
        """The value each input is padded with when batches are joined."""
        return {self.spec.input_ids: self.spec.pad_id, self.spec.attention_mask: 0}

    def example(self, rows: int, length: int) -> dict[str, np.ndarray]:
        """Warm-up feeds of `rows` rows of `length` tokens (all attended, like real text)."""
        ids = np.full((rows, length), self.spec.pad_id, dtype=np.int64)
        return self.feeds(Tokens(ids, np.ones((rows, length), dtype=np.int64)))
