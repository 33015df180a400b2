"""Batch scoring: files in, scored files out, through the same runtime as HTTP.

Small modules, one job each: `reader` streams input files in fixed-size parts,
`columns` matches them to the model by name, `convert` turns a part into model
inputs and per-row rejections, `outputs` builds the scored table, `planning` checks
a job before it starts, `state` and `parts` make it resumable, `writer` publishes the
result atomically, `pipeline` overlaps the stages, `job` runs the local engine and
`ray_engine` the same job on Ray Data.

Like all of `service`, never imports torch or training.
"""
