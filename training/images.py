"""Image datasets: scikit-learn's bundled 8x8 digits."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
from sklearn import datasets


@dataclass(frozen=True)
class Images:
    """Raw images `X` (float32, [n, channels, height, width]), class indices `y` (int64, [n])."""

    X: np.ndarray
    y: np.ndarray
    labels: list[str]
    source: str

    @property
    def rows(self) -> int:
        """Number of images."""
        return int(self.X.shape[0])


def load_digits() -> Images:
    """The 8x8 digits bundled with scikit-learn: 1,797 images, pixel values 0..16, 10 classes."""
    data = datasets.load_digits()
    return Images(
        X=np.ascontiguousarray(data.images[:, None, :, :], dtype=np.float32),
        y=np.ascontiguousarray(data.target, dtype=np.int64),
        labels=[str(n) for n in data.target_names],
        source="sklearn:digits",
    )


def fingerprint(images: Images) -> str:
    """A content hash of the image shape, pixels and targets: `sha256:<hex>`."""
    digest = hashlib.sha256()
    digest.update(repr(tuple(images.X.shape[1:])).encode())
    digest.update(np.ascontiguousarray(images.X, dtype=np.float32).tobytes())
    digest.update(np.ascontiguousarray(images.y, dtype=np.int64).tobytes())
    return f"sha256:{digest.hexdigest()}"
