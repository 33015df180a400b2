"""The published sentence encoder: parity with sentence-transformers, dynamic axes, tokenizer."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch
from tokenizers import Tokenizer

from export.drift import reference_of
from export.errors import IntegrityError
from export.manifest import MODEL_FILE, Manifest, sha256_file
from export.probe import text_batches
from export.registry import Artifact, Registry
from export.texts import HELD_OUT_TEXTS
from export.tokenizer import TokenizerSpec
from training.pipeline import load_trained, save_trained
from training.text.reference import agreement, reference_embeddings
from training.text.weights import package_dir
from training.trained import Trained

pytestmark = pytest.mark.slow
EXTRA_TEXTS = [
    "Straße, Æsir, ﬁ ligatures and Ⅻ roman numerals",
    "\t\n tabs and newlines \n",
    "🙂",
    "A" * 600,  # one "word" far past the limit
    "The end. " * 70,
]
PREPROCESSING = {
    "tokenizer": {
        "file": "tokenizer.json",
        "max_length": 128,
        "input_ids": "input_ids",
        "attention_mask": "attention_mask",
        "pad_id": 0,
    }
}


def _session(artifact: Artifact) -> ort.InferenceSession:
    return ort.InferenceSession(str(artifact.model_path), providers=["CPUExecutionProvider"])


def _onnx(artifact: Artifact, texts: list[str], batch: int = 16) -> np.ndarray:
    """Embeddings from the published graph, tokenised the way the service does it."""
    session = _session(artifact)
    spec = TokenizerSpec.from_manifest(artifact.manifest)
    assert spec is not None
    batches = text_batches(artifact.path, spec, texts, batch)
    return np.concatenate([session.run(None, feeds)[0] for feeds in batches])


def test_manifest_describes_a_text_encoder(text_embed: tuple[Trained, Artifact]) -> None:
    m = text_embed[1].manifest
    assert m.signature.to_dict() == {
        "inputs": [
            {"name": "input_ids", "dtype": "int64", "shape": [-1, -1]},
            {"name": "attention_mask", "dtype": "int64", "shape": [-1, -1]},
        ],
        "outputs": [{"name": "embedding", "dtype": "float32", "shape": [-1, 384]}],
    }
    assert m.task == "embedding" and m.labels == [] and m.variant == {}
    assert m.preprocessing == PREPROCESSING
    assert m.parity.passed and m.parity.max_abs_diff <= 1e-5
    assert m.parity.rows == len(HELD_OUT_TEXTS) + 16  # held-out texts + sane random rows
    assert m.metrics["st_cosine_min"] >= 0.99999 and m.metrics["st_max_abs_diff"] < 1e-5
    assert m.training["weights"]["revision"] == "1110a243fdf4706b3f48f1d95db1a4f5529b4d41"


def test_parity_cosines_are_recorded_and_drawn(text_embed: tuple[Trained, Artifact]) -> None:
    from export.card import CardFacts, render_card

    m = text_embed[1].manifest
    parity = m.evaluation["parity_cosines"]
    assert parity["texts"] == len(parity["cosines"]) == len(HELD_OUT_TEXTS)
    assert min(parity["cosines"]) == pytest.approx(m.metrics["st_cosine_min"], abs=1e-9)
    assert parity["mean"] == pytest.approx(m.metrics["st_cosine_mean"])
    html = render_card(CardFacts(m.to_dict()))
    assert 'data-chart="parity_cosines"' in html and "Not recorded" not in html


def test_reference_projects_the_embeddings_of_the_held_out_texts(
    text_embed: tuple[Trained, Artifact],
) -> None:
    reference = reference_of(text_embed[1].manifest)  # no training data: the held-out texts
    assert reference.rows == {"inputs": len(HELD_OUT_TEXTS), "outputs": len(HELD_OUT_TEXTS)}
    assert reference.names()[-8:] == [f"embedding.proj_{j}" for j in range(8)]


def test_onnx_matches_sentence_transformers_encode(text_embed: tuple[Trained, Artifact]) -> None:
    texts = [*HELD_OUT_TEXTS, *EXTRA_TEXTS]
    figures = agreement(reference_embeddings(package_dir(), texts), _onnx(text_embed[1], texts))
    assert figures["cosine_min"] >= 0.99999, figures
    assert figures["max_abs_diff"] < 1e-5, figures


def test_sequence_axis_is_dynamic(text_embed: tuple[Trained, Artifact]) -> None:
    artifact = text_embed[1]
    session = _session(artifact)
    for value in session.get_inputs():
        assert isinstance(value.shape[0], str) and isinstance(value.shape[1], str)
    texts = ["hi", "a somewhat longer sentence about parcels", "The end. " * 70]
    # one batch padded to its longest text, against each text alone with no padding at all
    together = _onnx(artifact, texts, batch=3)
    alone = _onnx(artifact, texts, batch=1)
    spec = TokenizerSpec.parse(artifact.manifest.preprocessing["tokenizer"])
    assert [len(f["input_ids"][0]) for f in text_batches(artifact.path, spec, texts, 1)] == [
        3,
        8,
        128,
    ]
    np.testing.assert_allclose(together, alone, atol=1e-5)
    with torch.no_grad():
        ids = torch.tensor([[101, 7592, 2088, 102]])
        expected = text_embed[0].module(ids, torch.ones_like(ids)).numpy()
    feeds = {"input_ids": ids.numpy(), "attention_mask": np.ones((1, 4), dtype=np.int64)}
    np.testing.assert_allclose(session.run(None, feeds)[0], expected, atol=1e-5)


def test_tokenizer_ships_in_the_artifact_hashed(text_embed: tuple[Trained, Artifact]) -> None:
    artifact = text_embed[1]
    path = artifact.path / "tokenizer.json"
    assert artifact.manifest.files == {
        MODEL_FILE: sha256_file(artifact.model_path),
        "tokenizer.json": sha256_file(path),
    }
    data = json.loads(path.read_text())
    assert data["padding"] is None  # the service pads each batch to its longest text
    assert data["truncation"]["max_length"] == 128
    tokenizer = Tokenizer.from_file(str(path))
    assert len(tokenizer.encode("The end. " * 70).ids) == 128
    assert len(tokenizer.encode("hello world").ids) == 4


def test_a_tampered_tokenizer_is_refused(
    text_embed: tuple[Trained, Artifact], tmp_path: Path
) -> None:
    artifact = text_embed[1]
    copy = tmp_path / "copy"
    copy.mkdir()
    (copy / MODEL_FILE).symlink_to(artifact.model_path)  # 90 MB: link, do not copy
    shutil.copy(artifact.path / "manifest.json", copy / "manifest.json")
    text = (artifact.path / "tokenizer.json").read_text()
    (copy / "tokenizer.json").write_text(text.replace('"lowercase": true', '"lowercase": false'))
    with pytest.raises(IntegrityError, match=r"sha256 of 'tokenizer\.json' is .*refusing"):
        Manifest.read(copy).verify_files(copy)
    Manifest.read(artifact.path).verify_files(artifact.path)  # the original still verifies


def test_registry_refuses_a_version_whose_tokenizer_is_gone(
    text_embed: tuple[Trained, Artifact], tmp_path: Path
) -> None:
    source = text_embed[1]
    registry = Registry(tmp_path / "registry")
    folder = registry.root / "text-embed" / "1"
    folder.mkdir(parents=True)
    (folder / MODEL_FILE).symlink_to(source.model_path)
    shutil.copy(source.path / "manifest.json", folder / "manifest.json")
    with pytest.raises(IntegrityError, match=r"file 'tokenizer\.json' is missing"):
        registry.get("text-embed:1")


def test_checkpoint_round_trip_keeps_weights_and_tokenizer(
    text_embed: tuple[Trained, Artifact], tmp_path: Path
) -> None:
    trained = text_embed[0]
    loaded = load_trained(save_trained(tmp_path / "text-embed.pt", trained))
    assert loaded.kind == "text-embed" and loaded.files == trained.files
    assert loaded.parity_rows == trained.parity_rows
    feeds = {k: torch.from_numpy(v[:3]) for k, v in trained.sample_inputs.items()}
    with torch.no_grad():
        np.testing.assert_array_equal(loaded.module(**feeds), trained.module(**feeds))
