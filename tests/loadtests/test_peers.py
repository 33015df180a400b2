"""The careful scoring script scores like the model: an honest anchor for `ferry bench score`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from export.registry import Registry
from loadtests.peers import stream_score
from tests.support.onnx_models import linear_softmax, publish_linear, reference


def test_the_careful_script_streams_every_row_with_ids_and_labels(tmp_path: Path) -> None:
    artifact = publish_linear(Registry(tmp_path / "registry"), "lin", n_features=4, seed=3)
    x = np.random.default_rng(0).normal(size=(1000, 4)).astype(np.float32)
    data = pa.table(
        {"id": pa.array(np.arange(1000) + 7)} | {f"f{j}": x[:, j] for j in (2, 0, 3, 1)}
    )
    pq.write_table(data, tmp_path / "in.parquet", row_group_size=300)
    out = tmp_path / "out.parquet"
    features = ",".join(f"f{j}" for j in range(4))
    args = [str(artifact.model_path), str(tmp_path / "in.parquet"), str(out)]
    args += ["--features", features, "--id", "id", "--labels", "negative,positive"]
    stream_score.main([*args, "--batch", "128"])
    scored = pq.read_table(out)
    assert scored.column_names == ["id", "out_0", "out_1", "prediction"]
    assert scored["id"].to_pylist() == list(range(7, 1007))
    _, w, b = linear_softmax(4, 2, 3)
    expected = reference(x, w, b)
    got = np.stack([scored["out_0"].to_numpy(), scored["out_1"].to_numpy()], axis=1)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    labels = np.array(["negative", "positive"])[expected.argmax(axis=1)]
    assert scored["prediction"].to_pylist() == labels.tolist()
