"""A job never writes over its input, and its two outputs never land in one file."""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from export.registry import Artifact
from service.scoring.errors import PathConflict
from service.scoring.job import ScoreJob, run_local
from tests.service.scoring.conftest import table


def files_in(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.fixture
def data(tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    folder.mkdir()
    pq.write_table(table(50), folder / "in.parquet")
    return folder


@pytest.mark.parametrize(
    ("output", "rejects", "message"),
    [
        ("data/in.parquet", None, "--output data/in.parquet is the input"),
        ("data/./sub/../in.parquet", None, "is the input"),
        ("link.parquet", None, "is the input"),  # a symbolic link to the input
        ("hard.parquet", None, "is the input"),  # a hard link to the input
        ("out.parquet", "data/in.parquet", "--rejects data/in.parquet is the input"),
        ("out.parquet", "out.parquet", "--output and --rejects are the same file"),
        ("out.parquet", "./out.parquet", "--output and --rejects are the same file"),
    ],
)
def test_a_job_that_would_overwrite_what_it_reads_is_refused_before_writing(
    linear: Artifact,
    data: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    output: str,
    rejects: str | None,
    message: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "link.parquet").symlink_to(data / "in.parquet")
    os.link(data / "in.parquet", tmp_path / "hard.parquet")
    before = files_in(tmp_path)
    job = ScoreJob(
        "lin",
        Path("data/in.parquet"),
        Path(output),
        linear.path.parent.parent,
        rejects=Path(rejects) if rejects else None,
    )
    with pytest.raises(PathConflict, match=message.replace(".", r"\.")):
        run_local(job)
    assert files_in(tmp_path) == before  # nothing written, nothing replaced


def test_outputs_inside_an_input_folder_are_refused(linear: Artifact, data: Path) -> None:
    before = files_in(data)
    for output, rejects in (
        (data / "scored.parquet", None),
        (data.parent / "o.parquet", data / "r.parquet"),
    ):
        job = ScoreJob("lin", data, output, linear.path.parent.parent, rejects=rejects)
        with pytest.raises(PathConflict, match="inside the input folder"):
            run_local(job)
    assert files_in(data) == before
