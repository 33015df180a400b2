"""Score one unit of a distributed job with the local engine's steps, and commit it whole.

Workers share nothing but the work folder: each reads its unit, converts, validates
and scores it through `ModelRuntime` exactly as the local engine does a part, and
leaves its files there. Scoring a unit twice (a retried task, a resumed job)
writes the same files again, so a unit is never lost and never doubled.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from service.runtime import ModelRuntime
from service.scoring.columns import ColumnPlan
from service.scoring.convert import prepare
from service.scoring.outputs import rejects_table, scored_table
from service.scoring.reader import Source
from service.scoring.staging import UnitDone, UnitStore
from service.scoring.units import Unit


@dataclass(frozen=True)
class UnitWork:
    """What a worker needs to score any unit of one job (sent once to each worker)."""

    registry: str
    ref: str
    source: Source
    plan: ColumnPlan
    scored: pa.Schema
    rejects: pa.Schema
    batch_rows: int
    folder: Path
    output: Path
    threads: int = 1  # ONNX Runtime threads: the CPUs the actor reserves
    batch_tokens: int = 8192  # text models: tokens per model run (ScoreSettings.batch_tokens)

    def store(self) -> UnitStore:
        """The job's work folder."""
        return UnitStore(self.folder, self.output)


def score_unit(work: UnitWork, unit: Unit, runtime: ModelRuntime) -> UnitDone:
    """Score every row of `unit`, write its files, then record it as finished."""
    store, unread = work.store(), []
    scored = rejected = 0

    def on_invalid(file: str, reason: str) -> None:
        unread.append(f"{file}: {reason}")

    with store.writing(unit.index, work.scored, work.rejects) as sinks:
        parts = unit.parts(work.source, work.plan.read, work.batch_rows, on_invalid)
        for number, batch in enumerate(parts):
            # Rejected rows are numbered from the unit's first row: the job adds the
            # unit's offset once every unit before it has counted its rows.
            prepared = prepare(batch, work.plan, number, number * work.batch_rows)
            inputs = prepared.inputs
            results = runtime.predict(inputs, work.batch_tokens) if inputs else None
            good = scored_table(prepared, results, runtime, work.scored, work.plan.keep)
            bad = rejects_table(prepared, work.rejects, work.plan.keep)
            sinks.scored.write(good)
            if bad.num_rows:
                sinks.rejected.write_batch(bad)
            scored, rejected = scored + good.num_rows, rejected + bad.num_rows
    done = UnitDone(scored, rejected, unread)
    store.finish(unit.index, done)
    return done
