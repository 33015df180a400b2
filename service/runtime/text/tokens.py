"""Token rows of one request, and how they split into batcher submissions by bucket."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from service.runtime.text.buckets import bucket_of


@dataclass(frozen=True)
class Tokens:
    """`ids` and `mask` of shape [rows, longest]: padded to the longest row here, no further."""

    ids: np.ndarray
    mask: np.ndarray

    @property
    def rows(self) -> int:
        return int(self.ids.shape[0])

    @property
    def width(self) -> int:
        return int(self.ids.shape[1])

    @property
    def lengths(self) -> np.ndarray:
        return np.asarray(self.mask.sum(axis=1))

    def take(self, index: np.ndarray) -> Tokens:
        """The chosen rows, trimmed to the longest of them."""
        width = int(self.lengths[index].max(initial=1))
        return Tokens(self.ids[index, :width], self.mask[index, :width])

    def parts(
        self, bounds: tuple[int, ...], max_rows: int, max_tokens: int = 0
    ) -> list[tuple[np.ndarray, int]]:
        """(row indices, bucket) per submission: rows grouped by bucket, at most `max_rows`
        each and, with `max_tokens`, at most that many tokens once padded.

        A request of texts in one bucket (the usual case) is one submission; a mixed
        one is split so its short texts can batch with other short texts.
        """
        lengths = self.lengths
        if self._rows_for(self.width, max_rows, max_tokens) >= self.rows and bucket_of(
            int(lengths.min()), bounds
        ) == bucket_of(self.width, bounds):
            return [(np.arange(self.rows), bucket_of(self.width, bounds))]
        buckets = np.array([bucket_of(int(n), bounds) for n in lengths])
        parts = []
        for bucket in np.unique(buckets):
            rows = np.flatnonzero(buckets == bucket)
            step = self._rows_for(int(lengths[rows].max()), max_rows, max_tokens)
            parts += [(rows[i : i + step], int(bucket)) for i in range(0, len(rows), step)]
        return parts

    @staticmethod
    def _rows_for(width: int, max_rows: int, max_tokens: int) -> int:
        """Rows of `width` tokens one submission may hold."""
        return min(max_rows, max(1, max_tokens // max(1, width))) if max_tokens else max_rows

    def chunks(self, max_tokens: int) -> list[np.ndarray]:
        """Row indices in batches of similar length, for scoring many texts at once: rows
        sorted by length, each batch at most `max_tokens` tokens once padded to its
        longest row (a longer row alone)."""
        lengths = self.lengths
        order = np.argsort(lengths, kind="stable")
        chunks, start = [], 0
        while start < len(order):
            end = start + 1  # sorted, so a batch's longest row is its last
            while end < len(order) and (end + 1 - start) * int(lengths[order[end]]) <= max_tokens:
                end += 1
            chunks.append(order[start:end])
            start = end
        return chunks
