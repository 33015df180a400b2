"""Local batch jobs end to end: formats, folders of parts, rejects, the command's exit code."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from export.registry import Artifact
from ferry.cli import app
from service.scoring.errors import MissingColumns
from service.scoring.job import ScoreJob, run_local
from tests.service.scoring.conftest import N_FEATURES, table
from tests.support.onnx_models import linear_softmax, reference


def read(path: Path) -> pa.Table:
    return pq.read_table(path) if path.suffix == ".parquet" else pacsv.read_csv(path)


def expected(artifact: Artifact, data: pa.Table) -> np.ndarray:
    """The probabilities in numpy, from the weights `publish_linear` gave the model (seed 0)."""
    assert artifact.manifest.features == [f"f{i}" for i in range(N_FEATURES)]
    _, w, b = linear_softmax(N_FEATURES, 2, seed=0)
    rows = np.stack([data[f"f{i}"].to_numpy() for i in range(N_FEATURES)], axis=1)
    return reference(rows, w, b)


@pytest.mark.parametrize(("src", "dst"), [(".parquet", ".csv"), (".csv", ".parquet")])
def test_scores_every_row_in_input_order(
    linear: Artifact, tmp_path: Path, src: str, dst: str
) -> None:
    data = table(1000)
    source = tmp_path / f"in{src}"
    pq.write_table(data, source, row_group_size=300) if src == ".parquet" else pacsv.write_csv(
        data, source
    )
    job = ScoreJob("lin", source, tmp_path / f"out{dst}", linear.path.parents[1], batch_rows=128)
    result = run_local(job)
    out = read(job.output)
    assert (result.rows_scored, result.rows_rejected) == (1000, 0)
    assert out.column_names == [
        *data.column_names,
        "probabilities_0",
        "probabilities_1",
        "prediction",
        "model_name",
        "model_version",
    ]
    assert out["id"].to_pylist() == data["id"].to_pylist()
    probabilities = np.stack([out["probabilities_0"], out["probabilities_1"]], axis=1)
    np.testing.assert_allclose(probabilities, expected(linear, data), rtol=1e-5, atol=1e-6)
    labels = np.where(probabilities[:, 1] > probabilities[:, 0], "positive", "negative")
    assert out["prediction"].to_pylist() == labels.tolist()
    assert {str(v) for v in out["model_version"].to_pylist()} == {linear.manifest.version}
    assert read(job.rejects_path).num_rows == 0
    assert not list(tmp_path.glob(".out*"))  # the work folder is gone


def test_a_folder_of_parts_with_id_columns(linear: Artifact, tmp_path: Path) -> None:
    data = table(500, seed=1)
    (tmp_path / "parts").mkdir()
    for i, start in enumerate(range(0, 500, 200)):
        pq.write_table(data.slice(start, 200), tmp_path / "parts" / f"part-{i}.parquet")
    (tmp_path / "parts" / "_SUCCESS").touch()
    out = tmp_path / "scores.parquet"
    run_local(ScoreJob("lin", tmp_path / "parts", out, linear.path.parents[1], ("id",), None, 64))
    scored = pq.read_table(out)
    assert scored.column_names[:2] == ["id", "probabilities_0"]
    assert scored["id"].to_pylist() == data["id"].to_pylist()
    np.testing.assert_allclose(
        scored["probabilities_1"], expected(linear, data)[:, 1], rtol=1e-5, atol=1e-6
    )


def test_bad_rows_go_to_the_rejects_with_reasons_and_exit_code_3(
    linear: Artifact, tmp_path: Path
) -> None:
    lines = ["id,f0,f1,f2,f3", "1,0.1,0.2,0.3,0.4", "2,abc,0.2,0.3,0.4", "3,0.1,,0.3,0.4"]
    lines += ["4,0.1,0.2", "5,0.1,0.2,inf,0.4", "6,1,2,3,4"]
    (tmp_path / "in.csv").write_text("\n".join(lines) + "\n")
    registry = str(linear.path.parents[1])
    result = CliRunner().invoke(
        app,
        [
            *["score", "lin", "-i", str(tmp_path / "in.csv"), "-o", str(tmp_path / "out.csv")],
            *["--registry", registry, "--id-col", "id", "--rejects", str(tmp_path / "bad.csv")],
        ],
    )
    assert result.exit_code == 3, result.output
    assert "scored 2 rows, rejected 4" in result.output.replace("\n", " ")
    out = pacsv.read_csv(tmp_path / "out.csv")
    assert out["id"].to_pylist() == [1, 6]
    good = pa.table({f"f{i}": [[0.1, 0.2, 0.3, 0.4][i], float(i + 1)] for i in range(N_FEATURES)})
    got = np.stack([out["probabilities_0"], out["probabilities_1"]], axis=1)
    np.testing.assert_allclose(got, expected(linear, good), rtol=1e-5, atol=1e-6)
    rejects = pacsv.read_csv(tmp_path / "bad.csv").to_pylist()
    assert rejects == [
        {"input_row": 1, "id": 2, "reject_reason": "column 'f0': 'abc' is not a number"},
        {"input_row": 2, "id": 3, "reject_reason": "column 'f1': missing value"},
        {"input_row": 3, "id": 5, "reject_reason": "column 'f2': 'inf' is not a finite number"},
        {
            "input_row": None,
            "id": None,
            "reject_reason": "in.csv: line with 3 fields, expected 5: '4,0.1,0.2'",
        },
    ]


def test_missing_columns_fail_before_any_output(linear: Artifact, tmp_path: Path) -> None:
    pq.write_table(table(10).drop_columns(["f1", "f3"]), tmp_path / "in.parquet")
    job = ScoreJob("lin", tmp_path / "in.parquet", tmp_path / "o.parquet", linear.path.parents[1])
    with pytest.raises(MissingColumns, match="'f1', 'f3'"):
        run_local(job)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.parquet", "registry"]
    result = CliRunner().invoke(
        app,
        [
            "score",
            "lin",
            "-i",
            str(job.input),
            "-o",
            str(job.output),
            "--registry",
            str(job.registry),
        ],
    )
    assert result.exit_code == 1 and "lacks 2 column(s)" in result.output


def test_only_the_ray_engine_imports_ray() -> None:
    code = "import sys, ferry.cli, service.scoring.job, service.scoring.ray_engine\n"
    code += "assert 'ray' not in sys.modules, 'ray imported'\n"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]


def test_a_clean_numeric_job_never_imports_pyarrow_compute_or_tokenizers(
    linear: Artifact, tmp_path: Path
) -> None:
    pq.write_table(table(300), tmp_path / "in.parquet")
    code = "import sys\nfrom pathlib import Path\n"
    code += "from service.scoring.job import ScoreJob, run_local\n"
    code += f"run_local(ScoreJob('lin', Path({str(tmp_path / 'in.parquet')!r}), "
    code += f"Path({str(tmp_path / 'out.parquet')!r}), Path({str(linear.path.parents[1])!r})))\n"
    code += "assert 'pyarrow.compute' not in sys.modules, 'pyarrow.compute imported'\n"
    code += "assert 'tokenizers' not in sys.modules, 'tokenizers imported'\n"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert pq.read_table(tmp_path / "out.parquet").num_rows == 300
