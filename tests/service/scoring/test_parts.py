"""Saved model outputs: whole or not at all, and never taken for another part's."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from service.scoring.parts import OutputStore
from service.scoring.state import claim


def outputs(rows: int) -> dict[str, np.ndarray]:
    return {
        "probabilities": np.arange(rows * 2, dtype=np.float32).reshape(rows, 2),
        "label": np.arange(rows, dtype=np.int64),
    }


def test_saved_outputs_come_back_whole(tmp_path: Path) -> None:
    store = OutputStore(tmp_path)
    store.save(0, outputs(5))
    store.save(1, None)  # every row of part 1 was rejected
    assert store.count() == 2
    whole, loaded = store.load(0, ["probabilities", "label"], 5)
    assert whole and loaded is not None
    assert all(np.array_equal(loaded[k], v) for k, v in outputs(5).items())
    assert store.load(1, ["probabilities", "label"], 0) == (True, None)
    assert not list(tmp_path.glob("*.tmp"))


def test_torn_missing_or_mismatched_outputs_are_not_whole(tmp_path: Path) -> None:
    store = OutputStore(tmp_path)
    names = ["probabilities", "label"]
    store.save(0, outputs(5))
    path = next(tmp_path.glob("outputs-000000.npy"))
    data = path.read_bytes()
    assert store.load(0, names, 4) == (False, None)  # not this part's rows
    path.write_bytes(data[:-8])
    assert store.load(0, names, 5) == (False, None)  # cut short by a power failure
    path.write_bytes(data + b"x")
    assert store.load(0, names, 5) == (False, None)  # more than was written
    assert store.load(3, names, 5) == (False, None)
    store.save(1, None)
    (tmp_path / "outputs-000001.npy").write_bytes(b"junk")
    assert store.load(1, names, 0) == (False, None)


def test_a_work_folder_holds_one_jobs_parts(tmp_path: Path) -> None:
    claim(tmp_path, "job-a")
    OutputStore(tmp_path).save(0, outputs(3))
    claim(tmp_path, "job-a")
    assert OutputStore(tmp_path).count() == 1  # the same job resumes
    claim(tmp_path, "job-b")
    assert OutputStore(tmp_path).count() == 0  # another job starts afresh
