"""Which features a model's inputs and outputs become, computed independently by hand."""

from __future__ import annotations

import numpy as np
import pytest

from export.drift.plan import views_for
from export.drift.projection import project, token_bag, token_signs
from export.drift.views import (
    CATEGORICAL,
    ClassesView,
    ColumnsView,
    ImageView,
    ProjectionView,
    SummaryView,
    TokensView,
    view_from_dict,
)
from export.signature import Signature, TensorSpec

TOKENIZER = {"tokenizer": {"input_ids": "input_ids", "attention_mask": "attention_mask"}}
TEXT_INPUTS = (
    TensorSpec("input_ids", "int64", (-1, -1)),
    TensorSpec("attention_mask", "int64", (-1, -1)),
)


def names(views: list) -> list[str]:
    return [spec.name for view in views for spec in view.specs()]


def test_a_tabular_model_is_watched_column_by_column() -> None:
    signature = Signature(
        (TensorSpec("features", "float32", (-1, 3)),),
        (TensorSpec("probabilities", "float32", (-1, 2)),),
    )
    views = views_for(signature, ["age", "income", "prediction"], ["no", "yes"])
    assert views == [
        ColumnsView("features", ("age", "income", "prediction")),
        # an input feature already called `prediction`: the output's names step aside
        ClassesView("probabilities", ("no", "yes"), ("output.prediction", "output.confidence")),
    ]
    columns = views[0].values({"features": np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])})
    assert columns.tolist() == [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]
    out = views[1].values({"probabilities": np.array([[0.2, 0.8], [0.9, 0.1]])})
    assert out.tolist() == [[1.0, 0.8], [0.0, 0.9]]
    assert views[1].specs()[0].kind == CATEGORICAL


def test_digits_become_intensity_and_one_feature_per_pixel() -> None:
    signature = Signature(
        (TensorSpec("images", "float32", (-1, 1, 8, 8)),),
        (TensorSpec("probabilities", "float32", (-1, 10)),),
    )
    views = views_for(signature, [], [str(d) for d in range(10)])
    assert views[0] == ImageView("images", (8, 8))
    assert names(views)[:3] == ["intensity_mean", "intensity_std", "pixel_0_0"]
    assert len(names(views)) == 2 + 64 + 2
    images = np.random.default_rng(0).integers(0, 17, size=(5, 1, 8, 8)).astype(np.float32)
    got = views[0].values({"images": images})
    for row, image in enumerate(images[:, 0]):
        assert got[row, 0] == pytest.approx(image.mean())
        assert got[row, 1] == pytest.approx(image.std())
        assert got[row, 2:].tolist() == pytest.approx(image.ravel().tolist())


def test_a_larger_image_is_averaged_over_an_8x8_grid() -> None:
    view = ImageView("x", (8, 8))
    image = np.random.default_rng(1).normal(size=(2, 3, 16, 12))
    got = view.values({"x": image})
    plane = image.mean(axis=1)  # channels averaged
    for r in range(8):
        for c in range(8):
            want = plane[:, 2 * r : 2 * r + 2, int(c * 1.5) : int((c + 1) * 1.5)].mean(axis=(1, 2))
            assert got[:, 2 + r * 8 + c] == pytest.approx(want)


def test_text_models_watch_token_counts_and_a_bag_of_tokens() -> None:
    embed = Signature(TEXT_INPUTS, (TensorSpec("embedding", "float32", (-1, 384)),))
    views = views_for(embed, [], [], TOKENIZER)
    assert views == [
        TokensView("input_ids", "attention_mask", 8, 0),
        ProjectionView("embedding", 8, 0),
    ]
    classify = Signature(TEXT_INPUTS, (TensorSpec("probabilities", "float32", (-1, 3)),))
    assert names(views_for(classify, [], ["a", "b", "c"], TOKENIZER)) == [
        "tokens.length",
        *(f"tokens.proj_{j}" for j in range(8)),
        "prediction",
        "confidence",
    ]
    ids = np.array([[101, 7, 9, 102, 0], [101, 5, 102, 0, 0]])
    mask = (ids != 0).astype(np.int64)
    got = views[0].values({"input_ids": ids, "attention_mask": mask})
    assert got[:, 0].tolist() == [4, 3]
    signs = token_signs(np.array([101, 7, 9, 102, 5]), 8, 0)
    assert got[0, 1:] == pytest.approx(signs[:4].mean(axis=0))
    assert got[1, 1:] == pytest.approx(signs[[0, 4, 3]].mean(axis=0))


def test_other_tensors_are_summarised() -> None:
    signature = Signature(
        (TensorSpec("wide", "float32", (-1, 500)), TensorSpec("name", "object", (-1,))),
        (TensorSpec("score", "float32", (-1,)),),
    )
    views = views_for(signature)
    assert views == [SummaryView("wide"), ColumnsView("score", ("score",), source="output")]
    wide = np.random.default_rng(2).normal(size=(3, 500))
    assert views[0].values({"wide": wide}) == pytest.approx(
        np.column_stack([wide.mean(axis=1), wide.std(axis=1)])
    )


def test_views_round_trip_through_their_dicts() -> None:
    for view in (
        ColumnsView("features", ("a", "b")),
        ImageView("images", (8, 8)),
        TokensView("ids", "mask", 8, 3),
        ProjectionView("embedding", 8, 0),
        SummaryView("x", source="output"),
        ClassesView("probabilities", ("x", "y")),
    ):
        assert view_from_dict(view.to_dict()) == view
    with pytest.raises(ValueError, match="unknown drift view kind 'histogram'"):
        view_from_dict({"kind": "histogram"})


def test_projections_are_fixed_by_their_seed() -> None:
    vectors = np.random.default_rng(3).normal(size=(4, 384))
    directions = np.random.default_rng(0).standard_normal((384, 8)) / np.sqrt(384)
    assert project(vectors, 8, 0) == pytest.approx(vectors @ directions)
    assert not np.allclose(project(vectors, 8, 0), project(vectors, 8, 1))
    ids = np.arange(50_000)
    signs = token_signs(ids, 8, 0)
    assert set(np.unique(signs)) == {-1.0, 1.0}
    assert np.abs(signs.mean(axis=0)).max() < 0.02  # balanced: a fair coin per id and lane
    assert np.array_equal(signs, token_signs(ids, 8, 0))
    assert (signs != token_signs(ids, 8, 1)).mean() == pytest.approx(0.5, abs=0.02)
    empty = token_bag(np.zeros((1, 3), dtype=np.int64), np.zeros((1, 3)), 8, 0)
    assert empty.tolist() == [[0.0] * 8]
