"""A text model in `ferry bench score`: a file of texts, and the bare loop over their tokens."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from loadtests.text_corpus import Corpus
from service.runtime import ModelRuntime
from service.scoring import ScoreSettings

SPREAD = (8, 128)  # token counts of the texts, evenly spread


def write_input(runtime: ModelRuntime, path: Path, rows: int, seed: int = 0) -> None:
    """A Parquet file of `rows` texts of 8 to 128 tokens, with an `id` column."""
    assert runtime.text is not None
    texts = Corpus(runtime.text, seed).spread(rows, *SPREAD)
    pq.write_table(pa.table({"id": pa.array(np.arange(rows)), "text": pa.array(texts)}), path)


def bare(runtime: ModelRuntime, inputs: dict[str, np.ndarray], batch: int) -> tuple[float, float]:
    """Rows/s and CPU seconds of `session.run` alone over the texts tokenised beforehand,
    part by part in the batches of similar length the job runs (same token budget)."""
    assert runtime.text is not None
    text, budget = runtime.text, ScoreSettings().batch_tokens
    texts = inputs["text"].tolist()
    feeds = []
    for start in range(0, len(texts), batch):
        tokens = text.encode(texts[start : start + batch])
        feeds += [text.feeds(tokens.take(rows)) for rows in tokens.chunks(budget)]
    runtime.session.run(None, feeds[0])
    started, cpu = time.perf_counter(), time.process_time()
    for feed in feeds:
        runtime.session.run(None, feed)
    return len(texts) / (time.perf_counter() - started), time.process_time() - cpu
