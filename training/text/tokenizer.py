"""The encoder's tokenizer (the `tokenizers` library, as the service uses it) and its file.

The package's tokenizer.json pads every text to 128 tokens. The file ferry
publishes keeps its truncation at `MAX_LENGTH` and drops the fixed padding, so a
reader that loads it as-is pads nothing; the service (and training here) pads a
batch to its longest text, which was ~7x faster than padding to 128 on short texts.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from export.tokenizer import TOKENIZER_KEY, TokenizerSpec

if TYPE_CHECKING:  # `tokenizers` comes with the text extra; `ferry train tabular` needs none
    from tokenizers import Tokenizer

TOKENIZER_FILE = "tokenizer.json"
MAX_LENGTH = 128
INPUT_IDS = "input_ids"
ATTENTION_MASK = "attention_mask"
PAD_TOKEN = "[PAD]"


def published_tokenizer(folder: Path) -> Tokenizer:
    """The tokenizer in `folder`, truncating at `MAX_LENGTH`, with no padding configured."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(Path(folder) / TOKENIZER_FILE))
    tokenizer.no_padding()
    tokenizer.enable_truncation(MAX_LENGTH)
    return tokenizer


def tokenizer_file(tokenizer: Tokenizer) -> bytes:
    """The bytes of tokenizer.json as published with a model."""
    return tokenizer.to_str(pretty=True).encode()


def pad_id(tokenizer: Tokenizer) -> int:
    """The id of the padding token."""
    token_id = tokenizer.token_to_id(PAD_TOKEN)
    return 0 if token_id is None else int(token_id)


def spec(tokenizer: Tokenizer) -> TokenizerSpec:
    """How the service turns texts into this encoder's inputs (the export contract's spec)."""
    return TokenizerSpec(TOKENIZER_FILE, MAX_LENGTH, INPUT_IDS, ATTENTION_MASK, pad_id(tokenizer))


def encode(tokenizer: Tokenizer, texts: Sequence[str]) -> dict[str, np.ndarray]:
    """`input_ids` and `attention_mask` (int64), padded to the longest of `texts`."""
    ids, mask = spec(tokenizer).encode(tokenizer, texts)
    return {INPUT_IDS: ids, ATTENTION_MASK: mask}


def preprocessing(tokenizer: Tokenizer) -> dict[str, Any]:
    """`manifest.preprocessing` of a text model: how the service turns texts into inputs."""
    return {TOKENIZER_KEY: spec(tokenizer).to_dict()}
