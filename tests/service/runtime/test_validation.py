from __future__ import annotations

import numpy as np
import pytest

from export.signature import Signature, TensorSpec
from service.runtime.errors import InvalidInput
from service.runtime.validation import to_arrays

SIG = Signature(
    (TensorSpec("features", "float32", (-1, 3)),), (TensorSpec("p", "float32", (-1, 2)),)
)


def check(payload: object, max_rows: int = 10) -> dict[str, np.ndarray]:
    return to_arrays(payload, SIG, max_rows)  # type: ignore[arg-type]


def test_accepts_rows_and_casts_to_the_signature_dtype() -> None:
    arrays = check({"features": [[1, 2, 3], [4.5, 5, 6]]})
    assert arrays["features"].dtype == np.float32
    assert arrays["features"].shape == (2, 3)


def test_a_single_row_without_batch_axis_is_one_row() -> None:
    assert check({"features": [1, 2, 3]})["features"].shape == (1, 3)


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"features": [[1, 2]]}, "inputs.features: expected shape [-1, 3] (-1 = any), got [1, 2]"),
        ({"features": [[1, "x", 3]]}, "inputs.features[0][1]: expected a number, got 'x'"),
        ({"features": [[1, None, 3]]}, "inputs.features[0][1]: expected a number, got None"),
        ({"features": [[1, float("nan"), 3]]}, "inputs.features[0][1]: nan is not a finite number"),
        ({"features": [[1, 2, float("inf")]]}, "inputs.features[0][2]: inf is not a finite number"),
        ({"features": [[1, 2, 1e300]]}, "inputs.features[0][2]: 1e+300 overflows float32"),
        ({"features": []}, "expected shape"),
        ({"features": [[1, 2, 3], [1, 2]]}, "rows of different lengths"),
        ({"features": [[True, False, True]]}, "inputs.features[0][0]: expected a number, got True"),
        ({"other": [[1, 2, 3]]}, "inputs: unknown input 'other'"),
        ({}, "inputs: missing input 'features'"),
        ({"features": [[1, 2, 3]] * 11}, "11 rows exceed the limit of 10"),
    ],
)
def test_bad_input_names_the_field_and_value(payload: object, message: str) -> None:
    with pytest.raises(InvalidInput) as info:
        check(payload)
    assert message in str(info.value)


def test_empty_batch_with_the_right_width_is_refused() -> None:
    with pytest.raises(InvalidInput, match="empty batch"):
        to_arrays({"features": np.zeros((0, 3))}, SIG, 10)
