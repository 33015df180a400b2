"""Units of a distributed job: the local engine's parts, read from anywhere in the input."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from export.registry import Artifact
from service.runtime import ModelRuntime
from service.scoring.planning import ScoreJob, plan_job
from service.scoring.reader import Source
from service.scoring.staging import UnitStore
from service.scoring.unit_job import UnitWork, score_unit
from service.scoring.units import plan_units
from tests.service.scoring.conftest import table


def test_parquet_units_are_the_local_parts_wherever_row_groups_end(tmp_path: Path) -> None:
    data = table(1000)
    pq.write_table(data.slice(0, 430), tmp_path / "a.parquet", row_group_size=100)
    pq.write_table(data.slice(430, 0), tmp_path / "b.parquet")  # an empty file
    pq.write_table(data.slice(430), tmp_path / "c.parquet", row_group_size=250)
    source = Source.open(tmp_path)
    units = plan_units(source, 150)

    assert [u.rows for u in units] == [150] * 6 + [100]
    assert [(len(u.files), u.skip) for u in units[2:4]] == [(3, 300), (1, 20)]
    for unit, part in zip(units, source.parts(source.schema(), 150), strict=True):
        (read,) = unit.parts(source, source.schema(), 150, print)
        assert read.equals(part), unit
    # Resuming mid-file skips whole leading row groups, then slices one; none is lost.
    after = pa.Table.from_batches(list(source.parts(source.schema(), 150, skip=380)))
    assert after.equals(data.slice(380))


def test_each_csv_file_is_one_unit(tmp_path: Path) -> None:
    pacsv.write_csv(table(10), tmp_path / "a.csv")
    pacsv.write_csv(table(5), tmp_path / "b.csv")
    units = plan_units(Source.open(tmp_path), 4)
    assert [(u.files[0].name, u.rows) for u in units] == [("a.csv", None), ("b.csv", None)]
    parts = units[0].parts(Source.open(tmp_path), Source.open(tmp_path).schema(), 4, print)
    assert [p.num_rows for p in parts] == [4, 4, 2]


def test_a_unit_commits_its_files_and_then_its_record(linear: Artifact, tmp_path: Path) -> None:
    pq.write_table(table(10), tmp_path / "in.parquet")
    job = ScoreJob("lin", tmp_path / "in.parquet", tmp_path / "out.csv", linear.path.parents[1])
    planned = plan_job(job)
    work = UnitWork(
        registry=str(job.registry),
        ref="lin:1",
        source=planned.source,
        plan=planned.plan,
        scored=planned.scored,
        rejects=planned.rejects,
        batch_rows=4,
        folder=tmp_path / "work",
        output=job.output,
    )
    runtime = ModelRuntime.load(linear)
    (unit, *_) = plan_units(planned.source, 4)
    done = score_unit(work, unit, runtime)

    assert (done.scored, done.rejected, done.unread) == (4, 0, [])
    store = UnitStore(work.folder, job.output)
    assert store.done() == {0: done}
    assert pacsv.read_csv(store.part_path(0))["id"].to_pylist() == [1000, 1001, 1002, 1003]
    assert store.rejects(0).schema.names[0] == "input_row"
    assert not list(work.folder.rglob("*.tmp"))
    (store.output / ".part-000001.abc.tmp").write_bytes(b"half")  # left by a killed job
    store.drop_unfinished()
    assert sorted(p.name for p in store.output.iterdir()) == ["part-000000.csv"]
    store.part_path(0).unlink()  # a unit whose files went missing is done again
    assert store.done() == {}
    assert isinstance(store.rejects(0), pa.Table)
