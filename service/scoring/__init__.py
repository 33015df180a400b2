"""Batch scoring: files in, scored files out, through the same runtime as HTTP.

Small modules, one job each: `reader` streams input files in fixed-size parts,
`columns` matches them to the model by name, `convert` turns a part into model
inputs and per-row rejections, `arrays` moves data between Arrow and numpy without
copies, `outputs` builds the scored table, `planning` checks a job before it starts,
`state` and `parts` make it resumable, `writer` publishes the result atomically,
`pipeline` overlaps the stages, and `job` runs the local engine. On Ray,
`units` cuts the input into pieces that `unit_job` scores and `staging` commits,
and `ray_engine` runs them over a pool of actors; `faults` kills a job for tests.

Imports the runtime (`service.runtime`) and the export contract; never the serving
package, torch or training.
"""

from __future__ import annotations

from typing import Any

from service.scoring.columns import plan_columns
from service.scoring.convert import prepare
from service.scoring.job import ScoreJob, ScoreResult, run_local
from service.scoring.reader import Source
from service.scoring.settings import ScoreSettings

__all__ = [
    "ScoreJob",
    "ScoreResult",
    "ScoreSettings",
    "Source",
    "connect",
    "plan_columns",
    "prepare",
    "run_local",
    "run_ray",
]


def __getattr__(name: str) -> Any:
    # The Ray engine imports ray (seconds); only `--engine ray` pays for it.
    if name in ("connect", "run_ray"):
        from service.scoring import ray_engine

        return getattr(ray_engine, name)
    raise AttributeError(name)
