"""Which views watch a model, decided from its signature, features, labels and preprocessing."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from export.drift.views import (
    ClassesView,
    ColumnsView,
    ImageView,
    ProjectionView,
    SummaryView,
    TokensView,
    View,
)
from export.signature import Signature, TensorSpec

#: Widest tensor whose columns are features each; wider ones are summarised, which keeps
#: the features (and the service's gauges) bounded whatever the signature.
MAX_COLUMNS = 128
#: Largest image grid: 8 x 8 cells, each pixel of an 8 x 8 digit.
MAX_GRID = 8
#: Random directions for a wide output or a bag of tokens.
PROJECTION_DIMS = 8
PROJECTION_SEED = 0


def views_for(
    signature: Signature,
    features: Sequence[str] = (),
    labels: Sequence[str] = (),
    preprocessing: dict[str, Any] | None = None,
) -> list[View]:
    """The views of a model's inputs, then of its first output (its prediction)."""
    views: list[View] = []
    tokenizer = (preprocessing or {}).get("tokenizer")
    taken: set[str] = set()
    if isinstance(tokenizer, dict):
        ids, mask = str(tokenizer["input_ids"]), str(tokenizer["attention_mask"])
        views.append(TokensView(ids, mask, PROJECTION_DIMS, PROJECTION_SEED))
        taken = {ids, mask}
    single = len(signature.inputs) == 1
    for spec in signature.inputs:
        if spec.name not in taken and _numeric(spec):
            views.append(_input_view(spec, list(features) if single else []))
    if signature.outputs:
        views.append(_output_view(signature.outputs[0], tuple(labels), _names(views)))
    return views


def _input_view(spec: TensorSpec, features: list[str]) -> View:
    shape = spec.shape
    if len(shape) == 2 and 0 < shape[1] <= MAX_COLUMNS:
        names = features if len(features) == shape[1] else _indexed(spec.name, shape[1])
        return ColumnsView(spec.name, tuple(names))
    if len(shape) >= 3 and all(d > 0 for d in shape[1:]):
        return ImageView(spec.name, (min(MAX_GRID, shape[-2]), min(MAX_GRID, shape[-1])))
    return SummaryView(spec.name)


def _output_view(spec: TensorSpec, labels: tuple[str, ...], taken: set[str]) -> View:
    shape = spec.shape
    if labels and len(shape) == 2 and shape[1] == len(labels):
        names = ("prediction", "confidence")
        if taken & set(names):  # an input feature already has the name
            names = ("output.prediction", "output.confidence")
        return ClassesView(spec.name, labels, names)
    if len(shape) == 1:
        return ColumnsView(spec.name, (spec.name,), source="output")
    if len(shape) == 2 and 0 < shape[1] <= PROJECTION_DIMS:
        return ColumnsView(spec.name, tuple(_indexed(spec.name, shape[1])), source="output")
    return ProjectionView(spec.name, PROJECTION_DIMS, PROJECTION_SEED)


def _numeric(spec: TensorSpec) -> bool:
    return np.dtype(spec.dtype).kind in "biuf"


def _indexed(name: str, width: int) -> list[str]:
    return [f"{name}[{i}]" for i in range(width)]


def _names(views: list[View]) -> set[str]:
    return {spec.name for view in views for spec in view.specs()}
