from __future__ import annotations

import json

import numpy as np
import pytest

from service.runtime.errors import InvalidInput
from service.serving import jsonio


def test_round_trip_with_numpy_values() -> None:
    body = {"outputs": np.array([[0.25, 0.75]], dtype=np.float32), "n": np.int64(3)}
    assert json.loads(jsonio.dumps(body)) == {"outputs": [[0.25, 0.75]], "n": 3}


def test_nan_literals_still_parse_so_validation_can_name_the_element() -> None:
    value = jsonio.loads(b'{"x": [1.0, NaN, Infinity]}')
    assert value["x"][0] == 1.0 and np.isnan(value["x"][1]) and value["x"][2] == float("inf")


def test_a_malformed_body_is_a_clear_400() -> None:
    with pytest.raises(InvalidInput, match=r"request body: malformed JSON .* near '\{\"x\": \['"):
        jsonio.loads(b'{"x": [')


def test_what_orjson_cannot_write_falls_back() -> None:
    assert jsonio.dumps({"id": 2**70}) == b'{"id":1180591620717411303424}'
