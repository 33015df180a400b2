"""The model outputs of finished parts (`.npy` arrays in the work folder), written atomically.

Only what the model computed is kept: a part's kept columns, rejects and reasons come
back by reading and converting its input rows again, which costs a fraction of
scoring them and saves writing every output row twice.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

Outputs = dict[str, np.ndarray]


class OutputStore:
    """Part `i`'s outputs live in `outputs-i.npy`; a part is whole or absent."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def count(self) -> int:
        """How many parts, from the first, have an outputs file (whole ones are checked on load)."""
        index = 0
        while self._path(index).is_file():
            index += 1
        return index

    def save(self, index: int, outputs: Outputs | None) -> None:
        """Write part `index`'s outputs in signature order (None: every row was rejected)."""
        # No fsync: a killed process loses nothing the kernel holds, and after a power
        # failure `load` finds a torn file, and the part is scored again.
        path = self._path(index)
        tmp = path.with_suffix(".tmp")
        with tmp.open("wb") as handle:
            for values in (outputs or {}).values():
                np.lib.format.write_array(handle, values, allow_pickle=False)
        os.replace(tmp, path)

    def load(self, index: int, names: list[str], rows: int) -> tuple[bool, Outputs | None]:
        """(found whole, outputs) of part `index`, which has `rows` scored rows.

        A missing, torn or foreign file is not whole: the part must be scored again.
        """
        try:
            with self._path(index).open("rb") as handle:
                if rows == 0:
                    return handle.read(1) == b"", None
                outputs = {n: np.lib.format.read_array(handle, allow_pickle=False) for n in names}
                if handle.read(1) or any(len(v) != rows for v in outputs.values()):
                    return False, None
                return True, outputs
        except (OSError, ValueError, EOFError):
            return False, None

    def _path(self, index: int) -> Path:
        return self.folder / f"outputs-{index:06d}.npy"
