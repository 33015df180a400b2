"""Tokenisation with the artifact's tokenizer, length buckets, padding to the longest row."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from export.errors import ManifestError
from export.registry import Registry
from export.tokenizer import TokenizerSpec
from service.runtime import ModelRuntime
from service.runtime.settings import RuntimeSettings
from service.runtime.text import Tokens, bucket_bounds, bucket_of
from service.runtime.text.padding import padded_join
from service.runtime.text.settings import TextSettings
from tests.support.text_models import publish_text

CPU = RuntimeSettings(providers=["CPUExecutionProvider"])


def test_pads_to_the_longest_text_not_to_the_files_fixed_length(registry: Registry) -> None:
    # the tokenizer file itself pads to 128, as exported MiniLM tokenizers do
    text = ModelRuntime.load(publish_text(registry), CPU).text
    assert text is not None
    tokens = text.encode(["a", "the model", "the model is fast"])
    assert tokens.ids.shape == (3, 6)  # [CLS] the model is fast [SEP]
    assert tokens.lengths.tolist() == [3, 4, 6]
    assert tokens.ids[0].tolist() == [2, 6, 3, 0, 0, 0]  # [CLS] a [SEP] then [PAD] (id 0)
    assert tokens.mask[0].tolist() == [1, 1, 1, 0, 0, 0]


def test_truncates_at_the_manifests_max_length(registry: Registry) -> None:
    text = ModelRuntime.load(publish_text(registry, max_length=16), CPU).text
    assert text is not None
    tokens = text.encode(["the " * 100, "sun"])
    assert tokens.ids.shape == (2, 16) and tokens.lengths.tolist() == [16, 3]
    assert tokens.ids[0, -1] == 3  # still ends with [SEP]


def test_bucket_bounds_end_at_the_models_max_length() -> None:
    assert bucket_bounds((16, 32, 64, 128), 128) == (16, 32, 64, 128)
    assert bucket_bounds((64, 16, 32, 128), 256) == (16, 32, 64, 128, 256)
    assert bucket_bounds((16, 32, 64, 128), 50) == (16, 32, 50)
    assert bucket_bounds((512,), 128) == (128,)  # one bucket: bucketing off
    bounds = (16, 32, 64, 128)
    assert [bucket_of(n, bounds) for n in (1, 16, 17, 64, 65, 128, 900)] == [
        16,
        16,
        32,
        64,
        128,
        128,
        128,
    ]


def tokens(lengths: list[int], width: int | None = None) -> Tokens:
    width = width or max(lengths)
    mask = np.array([[1] * n + [0] * (width - n) for n in lengths], dtype=np.int64)
    return Tokens(mask * 7, mask)


def test_a_request_in_one_bucket_is_one_submission() -> None:
    [(rows, bucket)] = tokens([3, 9, 16]).parts((16, 32, 64, 128), max_rows=64)
    assert rows.tolist() == [0, 1, 2] and bucket == 16


def test_a_mixed_or_oversized_request_splits_by_bucket_and_size() -> None:
    lengths = [3, 100, 5, 40, 4, 6]
    parts = tokens(lengths).parts((16, 32, 64, 128), max_rows=2)
    assert [(rows.tolist(), b) for rows, b in parts] == [
        ([0, 2], 16),
        ([4, 5], 16),
        ([3], 64),
        ([1], 128),
    ]
    short = tokens(lengths).take(np.array([0, 2]))
    assert short.width == 5  # trimmed to its own longest row


def test_batches_join_padded_to_their_longest_row() -> None:
    join = padded_join({"input_ids": 0, "attention_mask": 0})
    a, b = tokens([2]), tokens([5, 3])
    joined = join(
        [
            {"input_ids": a.ids, "attention_mask": a.mask},
            {"input_ids": b.ids, "attention_mask": b.mask},
        ]
    )
    assert joined["input_ids"].shape == (3, 5)
    assert joined["attention_mask"].sum(axis=1).tolist() == [2, 5, 3]
    assert joined["input_ids"][0].tolist() == [7, 7, 0, 0, 0]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"file": "../tokenizer.json"}, "must be a file of the artifact listed in manifest.files"),
        ({"file": "vocab.txt"}, "must be a file of the artifact listed in manifest.files"),
        ({"input_ids": "ids"}, "the graph takes ['attention_mask', 'input_ids']"),
        ({"max_length": "128"}, "max_length: expected int, got '128'"),
        ({"max_length": None}, "missing 'max_length'"),
    ],
)
def test_a_malformed_tokenizer_section_is_refused(
    registry: Registry, change: dict[str, object], message: str
) -> None:
    manifest = publish_text(registry).manifest
    section = {**manifest.preprocessing["tokenizer"], **change}
    broken = dataclasses.replace(manifest, preprocessing={"tokenizer": section})
    with pytest.raises(ManifestError, match=r"preprocessing\.tokenizer") as err:
        TokenizerSpec.from_manifest(broken)
    assert message in str(err.value)


def test_buckets_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FERRY_TEXT_BUCKETS", "8, 24")
    assert TextSettings().buckets == (8, 24)
    monkeypatch.setenv("FERRY_TEXT_BUCKETS", "[0]")
    with pytest.raises(ValueError, match="positive token counts"):
        TextSettings()
