"""Arrow <-> numpy without copies, and a local job that never pays for importing pandas."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pytest

from export.registry import Artifact
from service.scoring.arrays import as_numpy, from_numpy, strings
from tests.service.scoring.conftest import table


def test_numbers_round_trip_without_copies() -> None:
    values = np.arange(10, dtype=np.float32)
    array = from_numpy(values)
    assert array.type == pa.float32() and array.to_pylist() == values.tolist()
    assert np.shares_memory(as_numpy(array), values)
    np.testing.assert_array_equal(as_numpy(array.slice(3, 4)), [3, 4, 5, 6])
    np.testing.assert_array_equal(as_numpy(from_numpy(np.arange(6)[::2])), [0, 2, 4])
    assert as_numpy(pa.array([], pa.int64())).shape == (0,)
    with pytest.raises(TypeError, match="string"):
        as_numpy(pa.array(["a"]))


def test_booleans_and_strings() -> None:
    mask = np.array([True, False, True, True, False, False, False, False, True])
    assert from_numpy(mask).to_pylist() == mask.tolist()
    assert strings(["a", "", "ünï", "xyz"]).to_pylist() == ["a", "", "ünï", "xyz"]
    assert strings([]).to_pylist() == []


def test_a_local_job_never_imports_pandas(linear: Artifact, tmp_path: Path) -> None:
    # pyarrow imports pandas on first use of pa.array() or to_numpy(): 0.5 s per job.
    pacsv.write_csv(table(50), tmp_path / "in.csv")
    text = (tmp_path / "in.csv").read_text().replace("\n1010,", "\n1010,oops", 1)
    (tmp_path / "in.csv").write_text(text + "1,2\n")  # a rejected row and a malformed line
    code = (
        "import sys\nfrom pathlib import Path\n"
        "from service.scoring.job import ScoreJob, run_local\n"
        f"job = ScoreJob('lin', Path({str(tmp_path / 'in.csv')!r}), "
        f"Path({str(tmp_path / 'out.parquet')!r}), Path({str(linear.path.parents[1])!r}))\n"
        "result = run_local(job)\n"
        "assert result.rows_rejected == 2, result\n"
        "assert 'pandas' not in sys.modules, 'pandas imported'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
