"""Columns matched by name, and every bad value turned into a reason for its row."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from export.registry import Artifact
from service.runtime.errors import InvalidInput
from service.runtime.validation import conform
from service.scoring.columns import plan_columns
from service.scoring.convert import prepare
from service.scoring.errors import InputError, MissingColumns
from service.scoring.outputs import reserved_names


def test_columns_are_matched_by_name_not_position(linear: Artifact) -> None:
    batch = pa.record_batch({"f3": [3.0], "id": [7], "f1": [1.0], "f0": [0.0], "f2": [2.0]})
    plan = plan_columns(linear.manifest, batch.schema, None)
    prepared = prepare(batch, plan)
    np.testing.assert_array_equal(prepared.inputs["features"], [[0.0, 1.0, 2.0, 3.0]])
    assert plan.keep == ("f3", "id", "f1", "f0", "f2")


def test_missing_columns_are_all_named(linear: Artifact) -> None:
    schema = pa.schema([("f0", pa.float64()), ("f2", pa.float64()), ("x", pa.int64())])
    with pytest.raises(MissingColumns, match=r"lacks 3 column\(s\).*'f1', 'f3', 'id'.*found: f0"):
        plan_columns(linear.manifest, schema, ["id"])


def test_output_names_and_unreadable_types_are_refused(linear: Artifact) -> None:
    fields = [pa.field(f"f{i}", pa.float64()) for i in range(4)]
    clash = pa.schema([*fields, pa.field("prediction", pa.string())])
    with pytest.raises(InputError, match="names of output columns"):
        plan_columns(linear.manifest, clash, None, reserved_names(linear.manifest))
    dates = pa.schema([*fields[:3], pa.field("f3", pa.timestamp("s"))])
    with pytest.raises(InputError, match="'f3' is timestamp"):
        plan_columns(linear.manifest, dates, None)
    lists = pa.schema([*fields, pa.field("tags", pa.list_(pa.string()))])
    with pytest.raises(InputError, match="CSV cannot hold"):
        plan_columns(linear.manifest, lists, None, text_output=True)


def test_each_bad_row_gets_a_reason_and_good_rows_are_scored(linear: Artifact) -> None:
    text = pa.array(["1.5", "abc", "2", None, "inf", "1e300", " 3 ", "4"])
    batch = pa.record_batch(
        {
            "f0": text,
            "f1": pa.array([1.0, 1.0, None, 1.0, 1.0, 1.0, 1.0, float("nan")]),
            "f2": pa.array([1, 2, 3, 4, 5, 6, 7, 8], pa.int32()),
            "f3": pa.array([0.5] * 8, pa.float32()),
        }
    )
    plan = plan_columns(linear.manifest, batch.schema, None)
    prepared = prepare(batch, plan)
    assert prepared.reasons == {
        1: "column 'f0': 'abc' is not a number",
        2: "column 'f1': missing value",
        3: "column 'f0': missing value",
        4: "column 'f0': 'inf' is not a finite number",
        5: "column 'f0': '1e300' overflows float32",
        7: "column 'f1': nan is not a finite number",
    }
    np.testing.assert_array_equal(
        prepared.inputs["features"], np.array([[1.5, 1, 1, 0.5], [3, 1, 7, 0.5]], np.float32)
    )
    assert prepared.parsed["f0"][0] == 1.5


def test_list_columns_check_their_width(linear: Artifact) -> None:
    from dataclasses import replace

    manifest = replace(linear.manifest, features=[])  # inputs come from a `features` column
    batch = pa.record_batch(
        {"features": pa.array([[1.0, 2, 3, 4], [1.0, 2, 3], None, [1.0, None, 3, 4], [0.0] * 4])}
    )
    prepared = prepare(batch, plan_columns(manifest, batch.schema, None))
    assert prepared.reasons == {
        1: "column 'features': 3 values, expected a list of 4 numbers",
        2: "column 'features': a missing value, expected a list of 4 numbers",
        3: "column 'features': missing value",
    }
    assert prepared.inputs["features"].shape == (2, 4)


def test_accepted_rows_pass_the_http_validation(linear: Artifact) -> None:
    spec = linear.manifest.signature.inputs[0]
    with pytest.raises(InvalidInput, match="not a finite number"):
        conform(np.array([[1.0, np.inf, 0, 0]]), spec, "features")
    batch = pa.record_batch({f"f{i}": pa.array([1.0, np.inf]) for i in range(4)})
    prepared = prepare(batch, plan_columns(linear.manifest, batch.schema, None))
    assert list(prepared.reasons) == [1]
    conform(prepared.inputs["features"], spec, "features")


def test_columns_of_the_models_own_type_give_the_same_matrix(linear: Artifact) -> None:
    rng = np.random.default_rng(3)
    values = rng.normal(size=(50, 4))
    values[7, 2] = np.inf
    work = np.dtype(linear.manifest.signature.inputs[0].dtype)
    as_type = pa.record_batch({f"f{j}": values[:, j].astype(work) for j in range(4)})
    as_text = pa.record_batch(
        {f"f{j}": [str(v) for v in values[:, j].astype(work)] for j in range(4)}
    )
    plan = plan_columns(linear.manifest, as_type.schema, None)
    fast, slow = (
        prepare(as_type, plan),
        prepare(as_text, plan_columns(linear.manifest, as_text.schema, None)),
    )
    assert fast.reasons == {7: "column 'f2': inf is not a finite number"}
    assert slow.reasons == {7: "column 'f2': 'inf' is not a finite number"}
    np.testing.assert_array_equal(fast.inputs["features"], slow.inputs["features"])
    assert fast.inputs["features"].flags.c_contiguous
