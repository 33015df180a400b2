"""Match input columns to the model's inputs by name, never by position.

A tabular model lists its feature columns in `manifest.features`: each is one
scalar column. A text model reads its strings from a column `text`, as its clients
send them. Other inputs are read from a column named like the input holding a
(nested) list per row, or from scalar columns `<input>_0`, `<input>_1`, ...
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass

import pyarrow as pa

from export.manifest import Manifest
from export.signature import TensorSpec
from service.runtime.text import TEXT_INPUT, served_signature
from service.scoring.errors import InputError, MissingColumns


@dataclass(frozen=True)
class InputColumns:
    """The columns that feed one model input."""

    spec: TensorSpec
    columns: tuple[str, ...]
    listed: bool  # one column holding all of a row's values as a list

    @property
    def width(self) -> int:
        """Values per row: the product of the input's non-batch dimensions."""
        return math.prod(self.spec.shape[1:])

    @property
    def text(self) -> bool:
        """A text model's strings, tokenised by the runtime, not numbers."""
        return self.spec.dtype == "object"


@dataclass(frozen=True)
class ColumnPlan:
    """What to read, what feeds the model and what is copied to the output."""

    inputs: tuple[InputColumns, ...]
    keep: tuple[str, ...]
    read: pa.Schema

    @property
    def parsed(self) -> frozenset[str]:
        """Kept scalar input columns held as text: the output gets the numbers scored."""
        scalars = {c for i in self.inputs if not i.listed and not i.text for c in i.columns}
        return frozenset(c for c in self.keep if c in scalars and _is_text(self.read.field(c).type))


def plan_columns(
    manifest: Manifest,
    schema: pa.Schema,
    keep: Sequence[str] | None,
    reserved: Collection[str] = (),
    text_output: bool = False,
    text_input: bool = False,
) -> ColumnPlan:
    """Plan a job, or raise `MissingColumns` naming every column the model needs and lacks.

    `keep` lists the columns copied to the output (None: all); `reserved` names the
    output's own columns, which input columns may not shadow; `text_output` (CSV)
    refuses list columns in the output, which CSV cannot hold; `text_input` (CSV) reads
    scalar input columns as text, so that one bad value rejects one row, not the file.
    """
    inputs, missing = _inputs(manifest, schema)
    kept = list(schema.names if keep is None else keep)
    missing += [c for c in kept if c not in schema.names and c not in missing]
    if missing:
        ref = f"{manifest.name}:{manifest.version}"
        found = ", ".join(schema.names[:40]) + (" ..." if len(schema.names) > 40 else "")
        raise MissingColumns(
            f"the input lacks {len(missing)} column(s) that {ref} needs: "
            f"{', '.join(map(repr, missing))} (found: {found})"
        )
    _check_kept(kept, schema, reserved, text_output)
    used = {c for i in inputs for c in i.columns}
    scalars = {c for i in inputs if not i.listed for c in i.columns}
    read = pa.schema(
        [
            f.with_type(pa.string()) if text_input and f.name in scalars else f
            for f in schema
            if f.name in used or f.name in kept
        ]
    )
    return ColumnPlan(tuple(inputs), tuple(kept), read)


def _inputs(manifest: Manifest, schema: pa.Schema) -> tuple[list[InputColumns], list[str]]:
    if "tokenizer" in manifest.preprocessing:
        return _text(manifest, schema)
    specs = manifest.signature.inputs
    for spec in specs:
        if any(d < 0 for d in spec.shape[1:]):
            raise InputError(
                f"input {spec.name!r} has shape {list(spec.shape)}: batch scoring needs "
                "every dimension but the first fixed"
            )
    names = set(schema.names)
    if manifest.features and len(specs) == 1:
        found = InputColumns(specs[0], tuple(manifest.features), listed=False)
        if found.width != len(manifest.features):
            raise InputError(
                f"{manifest.name}: {len(manifest.features)} features for input "
                f"{specs[0].name!r} of shape {list(specs[0].shape)}"
            )
        _check_types(found, schema)
        return [found], [c for c in found.columns if c not in names]
    inputs, missing = [], []
    for spec in specs:
        one = InputColumns(spec, (spec.name,), listed=True)
        split = InputColumns(spec, tuple(f"{spec.name}_{i}" for i in range(one.width)), False)
        if spec.name in names:
            inputs.append(one)
        elif all(c in names for c in split.columns):
            inputs.append(split)
        else:
            missing.append(spec.name)
            continue
        _check_types(inputs[-1], schema)
    return inputs, missing


def _text(manifest: Manifest, schema: pa.Schema) -> tuple[list[InputColumns], list[str]]:
    """A text model's one input: the strings of column `text`."""
    found = InputColumns(served_signature(manifest.signature).inputs[0], (TEXT_INPUT,), False)
    if TEXT_INPUT not in schema.names:
        return [found], [TEXT_INPUT]
    kind = schema.field(TEXT_INPUT).type
    if not (_is_text(kind) or pa.types.is_null(kind)):
        raise InputError(f"column {TEXT_INPUT!r} is {kind}; expected text")
    return [found], []


def _check_types(found: InputColumns, schema: pa.Schema) -> None:
    for name in found.columns:
        if name not in schema.names:
            continue  # reported with every other missing column
        kind = schema.field(name).type
        leaf = _leaf(kind) if found.listed else kind
        if found.listed and not _is_list(kind):
            raise InputError(
                f"column {name!r} is {kind}; expected a list of {found.width} numbers per row"
            )
        if not (_is_number(leaf) or pa.types.is_null(leaf) or _is_text(leaf)):
            raise InputError(f"column {name!r} is {kind}; expected numbers")


def _check_kept(
    kept: list[str], schema: pa.Schema, reserved: Collection[str], text_output: bool
) -> None:
    clash = [c for c in kept if c in reserved]
    if clash:
        raise InputError(
            f"input column(s) {clash} have the names of output columns; "
            "choose the columns to keep with --id-col"
        )
    if text_output:
        nested = [c for c in kept if pa.types.is_nested(schema.field(c).type)]
        if nested:
            raise InputError(
                f"column(s) {nested} hold lists, which CSV cannot hold; "
                "write Parquet or choose the columns to keep with --id-col"
            )


def _leaf(kind: pa.DataType) -> pa.DataType:
    while _is_list(kind):
        kind = kind.value_type
    return kind


def _is_list(kind: pa.DataType) -> bool:
    return bool(
        pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_fixed_size_list(kind)
    )


def _is_number(kind: pa.DataType) -> bool:
    return bool(
        pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind)
    )


def _is_text(kind: pa.DataType) -> bool:
    return bool(pa.types.is_string(kind) or pa.types.is_large_string(kind))
