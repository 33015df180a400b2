"""Views: how a model's inputs and outputs become the scalar features drift is measured on.

A tabular model's features are its columns; an image becomes its mean intensity,
its spread and the mean of each cell of a grid of at most 8 x 8 (each pixel of an
8 x 8 digit); a text becomes its token count and a random projection of its bag
of tokens; class probabilities become the predicted class and its probability; a
wide output (an embedding) becomes a random projection. Each view is stored in
the manifest's drift block, so the service rebuilds exactly the features the
reference was computed on.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np

from export.drift.projection import project, token_bag

Arrays = dict[str, np.ndarray]
Source = Literal["input", "output"]
NUMERIC = "numeric"
CATEGORICAL = "categorical"


@dataclass(frozen=True)
class FeatureSpec:
    """One scalar feature: its name, where it comes from and whether it is a class."""

    name: str
    source: Source
    kind: str = NUMERIC
    categories: tuple[str, ...] = ()


class View(ABC):
    """Turns one tensor (or a pair) of a batch into columns of scalar features."""

    kind: ClassVar[str] = ""
    source: Source

    @abstractmethod
    def specs(self) -> list[FeatureSpec]:
        """The features `values` returns, in its column order."""

    @abstractmethod
    def values(self, arrays: Arrays) -> np.ndarray:
        """[rows, len(specs())] float64 for the batch `arrays` (inputs or outputs by name)."""

    @abstractmethod
    def to_dict(self) -> dict[str, Any]:
        """The view as the manifest stores it."""


@dataclass(frozen=True)
class ColumnsView(View):
    """Each column of a [rows, width] tensor is a feature (a tabular model's inputs)."""

    tensor: str
    names: tuple[str, ...]
    source: Source = "input"
    kind: ClassVar[str] = "columns"

    def specs(self) -> list[FeatureSpec]:
        return [FeatureSpec(name, self.source) for name in self.names]

    def values(self, arrays: Arrays) -> np.ndarray:
        return _rows(arrays, self.tensor)[:, : len(self.names)]

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "tensor": self.tensor,
            "names": list(self.names),
            "source": self.source,
        }


@dataclass(frozen=True)
class ImageView(View):
    """Per image: mean intensity, its standard deviation, and the mean of each grid cell
    (channels averaged); the grid is the image itself up to 8 x 8."""

    tensor: str
    grid: tuple[int, int]
    source: Source = "input"
    kind: ClassVar[str] = "image"

    def specs(self) -> list[FeatureSpec]:
        cells = [f"pixel_{r}_{c}" for r in range(self.grid[0]) for c in range(self.grid[1])]
        return [FeatureSpec(n, self.source) for n in ("intensity_mean", "intensity_std", *cells)]

    def values(self, arrays: Arrays) -> np.ndarray:
        images = _array(arrays, self.tensor)
        if images.ndim < 3:
            raise ValueError(f"{self.tensor!r} has shape {images.shape}; an image needs 2 axes")
        planes = images.reshape(len(images), -1, *images.shape[-2:]).mean(axis=1)
        flat = planes.reshape(len(planes), -1)
        cells = _cell_means(planes, self.grid)
        return np.column_stack([flat.mean(axis=1), flat.std(axis=1), cells])

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "tensor": self.tensor,
            "grid": list(self.grid),
            "source": self.source,
        }


@dataclass(frozen=True)
class TokensView(View):
    """Per text: attended token count, and a seeded ±1 projection of its bag of tokens."""

    input_ids: str
    attention_mask: str
    dims: int
    seed: int
    source: Source = "input"
    kind: ClassVar[str] = "tokens"

    def specs(self) -> list[FeatureSpec]:
        names = ["tokens.length", *(f"tokens.proj_{j}" for j in range(self.dims))]
        return [FeatureSpec(name, self.source) for name in names]

    def values(self, arrays: Arrays) -> np.ndarray:
        ids = _array(arrays, self.input_ids)
        mask = _array(arrays, self.attention_mask)
        bag = token_bag(ids, mask, self.dims, self.seed)
        return np.column_stack([mask.reshape(len(mask), -1).sum(axis=1), bag])

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "input_ids": self.input_ids,
            "attention_mask": self.attention_mask,
            "dims": self.dims,
            "seed": self.seed,
            "source": self.source,
        }


@dataclass(frozen=True)
class ProjectionView(View):
    """A wide tensor (an embedding) through `dims` seeded Gaussian directions."""

    tensor: str
    dims: int
    seed: int
    source: Source = "output"
    kind: ClassVar[str] = "projection"

    def specs(self) -> list[FeatureSpec]:
        return [FeatureSpec(f"{self.tensor}.proj_{j}", self.source) for j in range(self.dims)]

    def values(self, arrays: Arrays) -> np.ndarray:
        return project(_array(arrays, self.tensor), self.dims, self.seed)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "tensor": self.tensor,
            "dims": self.dims,
            "seed": self.seed,
            "source": self.source,
        }


@dataclass(frozen=True)
class SummaryView(View):
    """Per row of any numeric tensor: the mean and standard deviation of its values."""

    tensor: str
    source: Source = "input"
    kind: ClassVar[str] = "summary"

    def specs(self) -> list[FeatureSpec]:
        return [FeatureSpec(f"{self.tensor}.{s}", self.source) for s in ("mean", "std")]

    def values(self, arrays: Arrays) -> np.ndarray:
        flat = _rows(arrays, self.tensor)
        return np.column_stack([flat.mean(axis=1), flat.std(axis=1)])

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "tensor": self.tensor, "source": self.source}


@dataclass(frozen=True)
class ClassesView(View):
    """Class probabilities: the predicted class (categorical) and its probability."""

    tensor: str
    labels: tuple[str, ...]
    names: tuple[str, str] = ("prediction", "confidence")
    source: Source = "output"
    kind: ClassVar[str] = "classes"

    def specs(self) -> list[FeatureSpec]:
        return [
            FeatureSpec(self.names[0], self.source, CATEGORICAL, self.labels),
            FeatureSpec(self.names[1], self.source),
        ]

    def values(self, arrays: Arrays) -> np.ndarray:
        probabilities = _rows(arrays, self.tensor)
        return np.column_stack([probabilities.argmax(axis=1), probabilities.max(axis=1)])

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "tensor": self.tensor,
            "labels": list(self.labels),
            "names": list(self.names),
            "source": self.source,
        }


KINDS: dict[str, type[View]] = {
    view.kind: view
    for view in (ColumnsView, ImageView, TokensView, ProjectionView, SummaryView, ClassesView)
}


def view_from_dict(data: dict[str, Any]) -> View:
    """The view a manifest describes; `ValueError` for an unknown kind or a bad field."""
    fields = dict(data)
    kind = fields.pop("kind", None)
    view = KINDS.get(str(kind))
    if view is None:
        raise ValueError(f"unknown drift view kind {kind!r} (known: {', '.join(sorted(KINDS))})")
    for key in ("names", "labels", "grid"):
        if key in fields:
            fields[key] = tuple(fields[key])
    try:
        return view(**fields)
    except TypeError as err:
        raise ValueError(f"drift view {kind!r}: {err}") from err


def _array(arrays: Arrays, name: str) -> np.ndarray:
    try:
        return np.asarray(arrays[name], dtype=np.float64)
    except KeyError as err:
        raise ValueError(
            f"no tensor {name!r} to measure drift on (have: {sorted(arrays)})"
        ) from err


def _rows(arrays: Arrays, name: str) -> np.ndarray:
    values = _array(arrays, name)
    return values.reshape(len(values), -1)


def _cell_means(planes: np.ndarray, grid: tuple[int, int]) -> np.ndarray:
    """[n, rows * cols]: the mean of each cell when an [n, H, W] image is cut in a grid."""
    height, width = planes.shape[1:]
    top = np.linspace(0, height, grid[0] + 1).astype(int)
    left = np.linspace(0, width, grid[1] + 1).astype(int)
    sums = np.add.reduceat(np.add.reduceat(planes, top[:-1], axis=1), left[:-1], axis=2)
    areas = np.outer(np.diff(top), np.diff(left))
    return (sums / areas).reshape(len(planes), -1)
