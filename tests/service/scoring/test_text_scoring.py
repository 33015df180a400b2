"""Text models in batch scoring: a `text` column in, embeddings out, bad texts rejected."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from export.registry import Registry
from service.runtime.text import Tokens
from service.runtime.text.inputs import max_chars
from service.scoring.errors import InputError
from service.scoring.job import ScoreJob, run_local
from service.scoring.settings import ScoreSettings
from tests.support.text_models import DIM, expected, publish_text


@pytest.fixture
def max_400_chars(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """FERRY_TEXT_MAX_CHARS=400 (read once per process: the cache is cleared around it)."""
    monkeypatch.setenv("FERRY_TEXT_MAX_CHARS", "400")
    max_chars.cache_clear()
    yield
    max_chars.cache_clear()


TEXTS = ["the sun", "rain " * 60, "", "a good game", "ünïcödé 🚀 text", "news of the team " * 9]


@pytest.mark.usefixtures("max_400_chars")
def test_texts_are_scored_in_input_order_and_bad_ones_rejected(tmp_path: Path) -> None:
    registry = Registry(tmp_path / "registry")
    artifact = publish_text(registry)
    texts = [TEXTS[i % len(TEXTS)] + f" {i % 7}" for i in range(200)]
    column: list[str | None] = list(texts)
    column[5], column[77] = None, "x" * 401  # missing, and over FERRY_TEXT_MAX_CHARS
    data = pa.table({"id": pa.array(np.arange(200)), "text": pa.array(column)})
    pq.write_table(data, tmp_path / "in.parquet", row_group_size=64)
    job = ScoreJob("text-embed", tmp_path / "in.parquet", tmp_path / "out.parquet")
    job = ScoreJob(**{**job.__dict__, "registry": registry.root, "keep": ("id",), "batch_rows": 50})
    # a small token budget: each part runs in several batches, sorted by length
    result = run_local(job, settings=ScoreSettings(batch_tokens=64))
    assert (result.rows_scored, result.rows_rejected) == (198, 2)
    out = pq.read_table(job.output)
    good = [i for i in range(200) if i not in (5, 77)]
    assert out["id"].to_pylist() == good
    got = np.stack([out[f"embedding_{j}"].to_numpy() for j in range(DIM)], axis=1)
    np.testing.assert_allclose(got, expected([texts[i] for i in good], artifact), atol=1e-6)
    rejects = pq.read_table(job.rejects_path).to_pylist()
    assert [(r["input_row"], r["id"]) for r in rejects] == [(5, 5), (77, 77)]
    assert rejects[0]["reject_reason"] == "column 'text': missing value"
    assert "401 characters exceed the limit of 400" in rejects[1]["reject_reason"]


def test_a_text_model_needs_a_text_column_of_strings(tmp_path: Path) -> None:
    registry = Registry(tmp_path / "registry")
    publish_text(registry)
    pq.write_table(pa.table({"text": pa.array([1, 2])}), tmp_path / "in.parquet")
    job = ScoreJob("text-embed", tmp_path / "in.parquet", tmp_path / "o.parquet", registry.root)
    with pytest.raises(InputError, match="column 'text' is int64; expected text"):
        run_local(job)


def test_chunks_sort_rows_by_length_under_the_token_budget() -> None:
    lengths = [5, 1, 9, 3, 3, 8, 2]
    width = max(lengths)
    mask = np.array([[1] * n + [0] * (width - n) for n in lengths])
    chunks = Tokens(np.ones_like(mask), mask).chunks(max_tokens=9)
    assert [c.tolist() for c in chunks] == [[1, 6, 3], [4], [0], [5], [2]]
    for chunk in chunks:
        assert len(chunk) == 1 or len(chunk) * max(lengths[i] for i in chunk) <= 9
    assert sorted(np.concatenate(chunks).tolist()) == list(range(len(lengths)))
