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
