"""int8 and fp16 variants of the real encoder: quality on held-out texts and speed, recorded."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import numpy_helper
from tokenizers import Tokenizer

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


def _embed(model: Artifact, tokenizer: Tokenizer, batch: int) -> np.ndarray:
    """The 40 held-out texts through a session of our own, in batches of `batch` padded to
    their longest text: the batches the variant was measured on (int8 scales per batch)."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(
        str(model.model_path), options, providers=["CPUExecutionProvider"]
    )
    texts, out = list(HELD_OUT_TEXTS), []
    for start in range(0, len(texts), batch):
        encodings = tokenizer.encode_batch(texts[start : start + batch])
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        out.append(session.run(None, {"input_ids": ids, "attention_mask": mask})[0])
    return np.concatenate(out).astype(np.float64)


def test_recorded_quality_is_what_an_independent_run_measures(
    variants: dict[str, Artifact], text_embed: tuple[Trained, Artifact]
) -> None:
    source = text_embed[1]
    # the tokenizers library on the published file: truncates at 128, pads to the longest
    tokenizer = Tokenizer.from_file(str(source.path / "tokenizer.json"))
    tokenizer.enable_truncation(128)
    tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
    want = _embed(source, tokenizer, 32)
    for precision, (most_diff, least_cosine) in {
        "int8": (0.2, 0.95),
        "fp16": (5e-3, 0.9999),
    }.items():
        got = _embed(variants[precision], tokenizer, 32)
        cosine = (want * got).sum(axis=1) / (
            np.linalg.norm(want, axis=1) * np.linalg.norm(got, axis=1)
        )
        diff = float(np.abs(want - got).max())
        assert 1e-6 < diff < most_diff and least_cosine < cosine.min() < 1.0, precision
        quality = variants[precision].manifest.variant["quality"]
        assert quality["max_abs_diff"] == pytest.approx(diff, rel=1e-4, abs=1e-6), precision
        assert quality["cosine_min"] == pytest.approx(cosine.min(), abs=1e-6), precision
        assert quality["cosine_mean"] == pytest.approx(cosine.mean(), abs=1e-6), precision
