"""int8 and fp16 variants of the real encoder: quality on held-out texts and speed, recorded."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from export.manifest import sha256_file
from export.registry import Artifact, Registry
from export.texts import HELD_OUT_TEXTS
from export.variants import publish_variant
from training.trained import Trained

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def variants(text_embed: tuple[Trained, Artifact]) -> dict[str, Artifact]:
    source = text_embed[1]
    registry = Registry(source.path.parent.parent)
    return {
        precision: publish_variant(registry, "text-embed:1", precision, rounds=1)
        for precision in ("int8", "fp16")
    }


def test_int8_is_per_channel_and_keeps_cosine_high(
    variants: dict[str, Artifact], text_embed: tuple[Trained, Artifact]
) -> None:
    int8 = variants["int8"]
    quality = int8.manifest.variant["quality"]
    assert quality["rows"] == len(HELD_OUT_TEXTS)
    # per-tensor weights gave ~0.68 on some texts; per channel keeps even "?!" near 0.96
    assert quality["cosine_min"] >= 0.95 and quality["cosine_mean"] >= 0.98
    scales = [
        numpy_helper.to_array(init)
        for init in onnx.load(str(int8.model_path)).graph.initializer
        if init.name.endswith("_scale") and init.data_type == onnx.TensorProto.FLOAT
    ]
    per_channel = [s for s in scales if s.size == 384 or s.size == 1536]
    assert per_channel, "expected one weight scale per output channel"
    # int8 MatMul weights; the embedding table stays fp32 (see export.optimize)
    assert int8.model_path.stat().st_size < 0.7 * text_embed[1].model_path.stat().st_size


def test_fp16_is_close_and_both_record_speed(variants: dict[str, Artifact]) -> None:
    quality = variants["fp16"].manifest.variant["quality"]
    assert quality["cosine_min"] >= 0.9999 and quality["max_abs_diff"] < 5e-3
    for artifact in variants.values():
        print(artifact.manifest.variant)  # the figures, with -s
        speed = artifact.manifest.variant["speed"]
        assert speed["rows_per_s"] > 0 and speed["source_rows_per_s"] > 0
        assert (speed["batch"], speed["threads"]) == (32, 1)


def test_variants_ship_the_same_tokenizer(
    variants: dict[str, Artifact], text_embed: tuple[Trained, Artifact]
) -> None:
    source = text_embed[1]
    for artifact in variants.values():
        m = artifact.manifest
        assert m.files["tokenizer.json"] == source.manifest.files["tokenizer.json"]
        assert sha256_file(artifact.path / "tokenizer.json") == m.files["tokenizer.json"]
        assert m.preprocessing == source.manifest.preprocessing
        assert m.signature == source.manifest.signature
        assert np.isfinite(m.variant["quality"]["max_abs_diff"])
