"""Texts of an exact token count for a model's own tokenizer, for the text benchmark.

Built from words the tokenizer keeps whole (one token each), so a text of
`n - specials` such words is exactly `n` tokens long with [CLS] and [SEP].
"""

from __future__ import annotations

import numpy as np
from tokenizers import Tokenizer

from service.runtime import TextTokenizer


def whole_words(tokenizer: Tokenizer, limit: int = 2000) -> list[str]:
    """Up to `limit` alphabetic vocabulary words that tokenise to exactly one token."""
    words = []
    for token, _ in sorted(tokenizer.get_vocab().items(), key=lambda kv: kv[1]):
        if len(token) < 2 or not token.isalpha() or not token.isascii():
            continue
        if len(tokenizer.encode(token, add_special_tokens=False).ids) == 1:
            words.append(token)
            if len(words) >= limit:
                break
    if not words:
        raise ValueError("the tokenizer keeps no alphabetic word whole; cannot build texts")
    return words


class Corpus:
    """Random texts of chosen token counts, checked against the service's own tokenizer."""

    def __init__(self, text: TextTokenizer, seed: int = 0) -> None:
        self.text = text
        self.words = whole_words(text.tokenizer)
        self.specials = text.encode([""]).width  # [CLS] [SEP] for BERT
        self.rng = np.random.default_rng(seed)

    def texts(self, tokens: int, count: int) -> list[str]:
        """`count` texts of exactly `tokens` tokens each (capped at the model's max length)."""
        n = max(1, min(tokens, self.text.max_length) - self.specials)
        return [" ".join(self.rng.choice(self.words, size=n)) for _ in range(count)]

    def mixed(self, count: int) -> list[str]:
        """A mixed-length workload in arrival order: mostly short, some medium, a few long."""
        top = self.text.max_length
        kinds = self.rng.choice(3, size=count, p=[0.7, 0.2, 0.1])
        ranges = [(4, min(16, top)), (17, min(64, top)), (65, top)]
        out = []
        for kind in kinds:
            low, high = ranges[kind]
            out += self.texts(int(self.rng.integers(min(low, high), high + 1)), 1)
        return out

    def spread(self, count: int, low: int, high: int) -> list[str]:
        """`count` texts whose token counts are spread evenly from `low` to `high`."""
        top = min(high, self.text.max_length)
        low = min(low, top)
        return [self.texts(int(self.rng.integers(low, top + 1)), 1)[0] for _ in range(count)]
