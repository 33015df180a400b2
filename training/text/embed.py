"""Run the encoder over many texts in length-sorted batches."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from training.text.tokenizer import ATTENTION_MASK, INPUT_IDS, encode

BATCH = 64

if TYPE_CHECKING:
    from tokenizers import Tokenizer


def batches(
    tokenizer: Tokenizer, texts: Sequence[str], batch_size: int = BATCH
) -> Iterator[tuple[np.ndarray, dict[str, np.ndarray]]]:
    """(row indices, inputs) for `texts` in batches of similar length, each padded to its
    longest: sorting first spares short texts the padding of long ones."""
    lengths = [len(e.ids) for e in tokenizer.encode_batch(list(texts))]
    order = np.argsort(lengths, kind="stable")
    for start in range(0, len(order), batch_size):
        rows = order[start : start + batch_size]
        yield rows, encode(tokenizer, [texts[i] for i in rows])


def run_module(
    module: nn.Module, tokenizer: Tokenizer, texts: Sequence[str], batch_size: int = BATCH
) -> np.ndarray:
    """`module(input_ids, attention_mask)` for every text, in the order of `texts`."""
    module.eval()
    out: np.ndarray | None = None
    with torch.no_grad():
        for rows, inputs in batches(tokenizer, texts, batch_size):
            result = module(
                torch.from_numpy(inputs[INPUT_IDS]), torch.from_numpy(inputs[ATTENTION_MASK])
            ).numpy()
            if out is None:
                out = np.empty((len(texts), *result.shape[1:]), dtype=result.dtype)
            out[rows] = result
    return out if out is not None else np.empty((0, 0), dtype=np.float32)
