"""The agreement summary: its figures against numpy, and merging that loses nothing."""

from __future__ import annotations

import math

import numpy as np
import pytest

from export.shadow import COSINE_EDGES, AgreementSummary

LABELS = ["cat", "dog", "eel"]


def softmaxes(rng: np.random.Generator, rows: int) -> np.ndarray:
    z = rng.normal(size=(rows, 3))
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)


def summary_of(primary: np.ndarray, shadow: np.ndarray, requests: int) -> AgreementSummary:
    summary = AgreementSummary()
    labels = (LABELS, primary.argmax(axis=1), LABELS, shadow.argmax(axis=1))
    summary.add(primary, shadow, requests, labels)
    return summary


def test_figures_are_numpys() -> None:
    rng = np.random.default_rng(0)
    primary = softmaxes(rng, 500)
    shadow = np.clip(primary + rng.normal(scale=0.05, size=primary.shape), 0, 1).astype(np.float32)
    summary = summary_of(primary, shadow, requests=123)
    f = summary.figures()

    p, s = primary.astype(np.float64), shadow.astype(np.float64)
    cosines = (p * s).sum(1) / (np.linalg.norm(p, axis=1) * np.linalg.norm(s, axis=1))
    agree = primary.argmax(1) == shadow.argmax(1)
    assert (f["requests"], f["rows"], f["kind"]) == (123, 500, "labels")
    assert f["agreement"] == f["label_agreement"] == agree.mean()
    assert f["abs_diff_mean"] == pytest.approx(np.abs(p - s).mean(), rel=1e-12)
    assert f["abs_diff_max"] == np.abs(p - s).max()
    assert f["cosine_min"] == pytest.approx(cosines.min(), abs=1e-15)
    assert f["cosine_mean"] == pytest.approx(cosines.mean(), rel=1e-14)
    for q in (0.01, 0.05, 0.5):  # a lower bound within one bucket of the true quantile
        exact = np.quantile(cosines, q, method="inverted_cdf")
        bound = f[f"cosine_p{round(q * 100):02d}"]
        below = max([e for e in COSINE_EDGES if e < exact], default=-1.0)
        assert below <= bound <= exact
    expected = np.zeros((3, 3), dtype=np.int64)
    np.add.at(expected, (primary.argmax(1), shadow.argmax(1)), 1)
    assert (summary.confusion == expected).all() and summary.labels == LABELS


def test_the_same_outputs_agree_exactly() -> None:
    rng = np.random.default_rng(1)
    outputs = softmaxes(rng, 64)
    f = summary_of(outputs, outputs.copy(), requests=64).figures()
    assert f["agreement"] == 1.0 and f["abs_diff_max"] == 0.0 and f["abs_diff_mean"] == 0.0
    assert f["cosine_min"] == f["cosine_mean"] == f["cosine_p01"] == f["cosine_p50"] == 1.0


def test_merging_parts_gives_the_summary_of_the_whole_through_json() -> None:
    rng = np.random.default_rng(2)
    primary = softmaxes(rng, 300)
    shadow = softmaxes(rng, 300)  # unrelated: plenty of disagreement
    whole = summary_of(primary, shadow, requests=300)
    parts = [
        summary_of(primary[i : i + 70], shadow[i : i + 70], len(primary[i : i + 70]))
        for i in range(0, 300, 70)
    ]
    merged = AgreementSummary()
    for part in parts:  # as replicas write them: JSON documents
        merged = merged.merge(AgreementSummary.from_dict(part.to_dict()))
    one, other = whole.figures(), merged.figures()
    assert one["requests"] == 300 and other["requests"] == 300
    for key in ("rows", "label_agreement", "abs_diff_max", "cosine_min", "cosine_p05"):
        assert one[key] == other[key], key
    for key in ("abs_diff_mean", "cosine_mean"):
        assert one[key] == pytest.approx(other[key], rel=1e-12)
    assert (whole.confusion == merged.confusion).all()
    assert (whole.cosine_counts == merged.cosine_counts).all()


def test_labels_of_different_classifiers_and_embeddings() -> None:
    summary = AgreementSummary()
    primary = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]], dtype=np.float32)
    shadow = np.array([[0.1, 0.1, 0.8], [0.1, 0.8, 0.1], [0.7, 0.2, 0.1]], dtype=np.float32)
    with pytest.raises(ValueError, match="outputs have shapes"):
        summary.add(primary, shadow, 3)
    labels = (["no", "yes"], primary.argmax(1), ["no", "yes", "maybe"], shadow.argmax(1))
    summary.add(primary[:, :1], shadow[:, :1], 3, labels)
    assert summary.labels == ["no", "yes", "maybe"]
    # rows: (no, maybe), (yes, yes), (no, no)
    assert summary.to_dict()["confusion"] == {"no": {"no": 1, "maybe": 1}, "yes": {"yes": 1}}
    assert summary.label_agreement == pytest.approx(2 / 3)
    embeddings = AgreementSummary()
    a = np.array([[1.0, 0.0], [0.0, 0.0], [np.nan, 1.0]])
    b = np.array([[0.0, 1.0], [0.0, 0.0], [1.0, 1.0]])
    embeddings.add(a, b, 3)
    f = embeddings.figures()
    assert f["kind"] == "cosine" and f["label_agreement"] is None
    assert f["cosine_min"] == -1.0 and f["cosine_mean"] == pytest.approx(0.0)  # 0, 1, NaN -> -1
    assert f["abs_diff_max"] is None and math.isinf(embeddings.abs_diff_max)
    assert embeddings.to_dict()["abs_diff"]["max"] is None  # JSON has no infinity
    assert AgreementSummary.from_dict(embeddings.to_dict()).abs_diff_max == math.inf


def test_documents_that_are_not_summaries_are_refused() -> None:
    with pytest.raises(ValueError, match="not an agreement summary"):
        AgreementSummary.from_dict({"requests": 1})
    other = AgreementSummary().to_dict()
    other["cosine"]["edges"] = [0.5, 1.0]
    with pytest.raises(ValueError, match="other bucket edges"):
        AgreementSummary.from_dict(other)
