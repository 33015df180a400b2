"""Parity: the exported graph must give the module's outputs on real and random rows."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from export.errors import ParityError
from export.manifest import Parity
from export.session import open_session

DEFAULT_TOLERANCE = 1e-5


def check_parity(
    module: nn.Module,
    onnx_path: Path,
    inputs: dict[str, np.ndarray],
    tolerance: float = DEFAULT_TOLERANCE,
    random_rows: int = 1000,
    seed: int = 0,
) -> Parity:
    """Compare PyTorch and ONNX Runtime (CPU) on `inputs` plus `random_rows` random rows.

    Random rows follow each input's dtype and trailing shape; float inputs are drawn
    from a normal with the per-column mean and spread of `inputs`, so they stay near
    realistic values while reaching beyond them. Integer inputs are drawn uniformly
    between each position's own min and max in `inputs`: token ids stay inside the
    vocabulary the held-out rows use, and a position that is constant in real rows
    stays constant (a text's [CLS] id, an attention mask's first column, so no mask
    row is all zeros). The result holds max |torch - onnx| over every output element.
    """
    return run_parity(module, onnx_path, inputs, tolerance, random_rows, seed)[0]


def run_parity(
    module: nn.Module,
    onnx_path: Path,
    inputs: dict[str, np.ndarray],
    tolerance: float = DEFAULT_TOLERANCE,
    random_rows: int = 1000,
    seed: int = 0,
) -> tuple[Parity, dict[str, np.ndarray]]:
    """`check_parity`, and ONNX Runtime's outputs by name on the rows of `inputs` (the
    held-out rows, without the random ones): publishing takes the reference distribution
    of the predictions from them."""
    session = open_session(onnx_path)
    names = [value.name for value in session.get_inputs()]
    missing = sorted(set(names) - set(inputs))
    if missing:
        raise ParityError(f"no rows for graph input(s) {missing} (given: {sorted(inputs)})")
    rng = np.random.default_rng(seed)
    feeds = {name: _with_random_rows(np.asarray(inputs[name]), random_rows, rng) for name in names}
    expected = _torch_outputs(module, [feeds[name] for name in names])
    actual = session.run(None, feeds)
    rows = int(next(iter(feeds.values())).shape[0])
    diff = _max_abs_diff(expected, actual)
    held_out = len(np.asarray(inputs[names[0]]))
    outputs = {
        value.name: np.asarray(result)[:held_out]
        for value, result in zip(session.get_outputs(), actual, strict=True)
    }
    parity = Parity(max_abs_diff=diff, tolerance=tolerance, rows=rows, passed=diff <= tolerance)
    return parity, outputs


def require_parity(parity: Parity) -> None:
    """Raise `ParityError` unless `parity` passed."""
    if not parity.passed:
        raise ParityError(
            f"ONNX output differs from PyTorch by max |diff| {parity.max_abs_diff:.3g} over "
            f"{parity.rows} rows, above the tolerance {parity.tolerance:.3g}; not publishing"
        )


def _with_random_rows(held_out: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    if count <= 0:
        return held_out
    shape = (count, *held_out.shape[1:])
    extra: np.ndarray
    if np.issubdtype(held_out.dtype, np.floating):
        mean, std = held_out.mean(axis=0), held_out.std(axis=0)
        scale = np.where(std > 0, std, np.maximum(np.abs(mean), 1.0))
        extra = rng.normal(mean, scale, size=shape)
    elif held_out.dtype == np.bool_:
        extra = rng.integers(0, 2, size=shape).astype(bool)
    elif np.issubdtype(held_out.dtype, np.integer):
        low, high = held_out.min(axis=0), held_out.max(axis=0)
        extra = rng.integers(low, high, size=shape, endpoint=True)
    else:
        return held_out  # strings and the like: only the held-out rows
    return np.concatenate([held_out, extra.astype(held_out.dtype)])


def _torch_outputs(module: nn.Module, args: Sequence[np.ndarray]) -> list[np.ndarray]:
    module.eval()
    with torch.no_grad():
        result = module(*(torch.from_numpy(np.ascontiguousarray(a)) for a in args))
    if isinstance(result, torch.Tensor):
        result = (result,)
    elif isinstance(result, dict):
        result = tuple(result.values())
    return [tensor.detach().cpu().numpy() for tensor in result]


def _max_abs_diff(expected: Sequence[np.ndarray], actual: Sequence[np.ndarray]) -> float:
    if len(expected) != len(actual):
        return float("inf")
    worst = 0.0
    for want, got in zip(expected, actual, strict=True):
        if want.shape != np.shape(got):
            return float("inf")
        if want.size:
            w, g = want.astype(np.float64), np.asarray(got, dtype=np.float64)
            same = (w == g) | (np.isnan(w) & np.isnan(g))  # equal infinities and NaNs agree
            delta = np.where(same, 0.0, np.abs(w - g))
            worst = max(worst, float(np.nan_to_num(delta, nan=np.inf).max()))
    return worst
