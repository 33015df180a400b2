"""Fixed random projections that anyone holding the seed can reproduce exactly.

Drift of a wide vector (a 384-d embedding, a bag of token ids) is watched through
a few random directions: close distributions project to close distributions, and
a shift in the vectors shows in the projections. The directions are a pure
function of the seed, so the reference computed at publish and what the service
computes while serving use the same ones.
"""

from __future__ import annotations

import numpy as np

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


def gaussian_directions(width: int, dims: int, seed: int) -> np.ndarray:
    """A [width, dims] matrix of N(0, 1/width) entries from numpy's PCG64 with `seed`."""
    rng = np.random.default_rng(seed)
    return rng.standard_normal((width, dims)) / np.sqrt(max(width, 1))


def project(vectors: np.ndarray, dims: int, seed: int) -> np.ndarray:
    """Rows of `vectors` ([n, width], flattened beyond axis 1) projected to [n, dims]."""
    flat = np.asarray(vectors, dtype=np.float64).reshape(len(vectors), -1)
    return flat @ gaussian_directions(flat.shape[1], dims, seed)


def token_signs(ids: np.ndarray, dims: int, seed: int) -> np.ndarray:
    """A ±1 vector of `dims` entries for every token id ([..., dims]), from a hash of
    (seed, id, dimension): no table, so any vocabulary size works."""
    keys = np.asarray(ids, dtype=np.int64).astype(np.uint64)[..., None]
    lanes = np.arange(dims, dtype=np.uint64)
    salt = _splitmix(np.array([seed & 0xFFFFFFFF], dtype=np.uint64))
    mixed = _splitmix(keys * np.uint64(dims) + lanes + salt)
    return np.where((mixed >> np.uint64(63)) == 1, 1.0, -1.0)


def token_bag(ids: np.ndarray, mask: np.ndarray, dims: int, seed: int) -> np.ndarray:
    """The mean of the attended tokens' sign vectors: a random projection of each text's
    bag of tokens, [n, dims]. A text with no attended token projects to zeros."""
    weights = np.asarray(mask, dtype=np.float64)[..., None]
    total = (token_signs(ids, dims, seed) * weights).sum(axis=1)
    count = np.maximum(weights.sum(axis=1), 1.0)
    return total / count


def _splitmix(x: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser: every input bit changes about half of the output bits."""
    with np.errstate(over="ignore"):
        z = x + _GOLDEN
        z = (z ^ (z >> np.uint64(30))) * _MIX1
        z = (z ^ (z >> np.uint64(27))) * _MIX2
        return z ^ (z >> np.uint64(31))
