"""The artifact's tokenizer file, read by the `tokenizers` library (no torch, no transformers)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from tokenizers import Tokenizer

from service.errors import ModelLoadError
from service.text.spec import TokenizerSpec
from service.text.tokens import Tokens


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
            tokenizer = Tokenizer.from_file(str(folder / spec.file))
        except Exception as err:  # the Rust side raises plain Exception on a bad file
            raise ModelLoadError(f"tokenizer {spec.file!r}: cannot load: {err}") from err
        tokenizer.enable_truncation(spec.max_length)
        # Exported tokenizer files often pad every text to a fixed length (128 for
        # MiniLM); padding to the longest text instead was ~7x faster on short texts.
        pad_token = tokenizer.id_to_token(spec.pad_id) or "[PAD]"
        tokenizer.enable_padding(pad_id=spec.pad_id, pad_token=pad_token)
        return cls(tokenizer, spec)

    def encode(self, texts: Sequence[str]) -> Tokens:
        """Token rows for validated texts, padded to the longest of them."""
        encodings = self.tokenizer.encode_batch(list(texts))
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        return Tokens(ids, mask)

    def feeds(self, tokens: Tokens) -> dict[str, np.ndarray]:
        """The graph's inputs by name."""
        return {self.spec.input_ids: tokens.ids, self.spec.attention_mask: tokens.mask}

    def pads(self) -> dict[str, int]:
        """The value each input is padded with when batches are joined."""
        return {self.spec.input_ids: self.spec.pad_id, self.spec.attention_mask: 0}

    def example(self, rows: int, length: int) -> dict[str, np.ndarray]:
        """Warm-up feeds of `rows` rows of `length` tokens (all attended, like real text)."""
        ids = np.full((rows, length), self.spec.pad_id, dtype=np.int64)
        return self.feeds(Tokens(ids, np.ones((rows, length), dtype=np.int64)))
