"""Locust scenarios for every served model: typed and V2 endpoints, single rows and small batches.

    pip install locust
    locust -f loadtests/locustfile.py --host http://127.0.0.1:3000 --headless -u 32 -r 8 -t 60s

Payloads are built from each model's V2 metadata (its signature), so a new model
gets load scenarios without editing this file.
"""

from __future__ import annotations

import random
from typing import Any

import httpx
from locust import FastHttpUser, events, task

from export.signature import Signature, TensorSpec
from loadtests.payloads import sample_inputs

MODELS: dict[str, Signature] = {}


@events.test_start.add_listener
def load_signatures(environment: Any, **_: Any) -> None:
    host = environment.host
    status = httpx.get(f"{host}/status", timeout=10).json()
    for name in status["models"]:
        meta = httpx.get(f"{host}/v2/models/{name}", timeout=10).json()
        MODELS[name] = Signature(
            tuple(_spec(t) for t in meta["inputs"]), tuple(_spec(t) for t in meta["outputs"])
        )


def _spec(tensor: dict[str, Any]) -> TensorSpec:
    from export.signature import numpy_dtype

    return TensorSpec(tensor["name"], numpy_dtype(tensor["datatype"]), tuple(tensor["shape"]))


class FerryUser(FastHttpUser):
    """Mixed traffic: typed and V2 requests of 1 or 8 rows to a random served model."""

    def _pick(self, rows: int) -> tuple[str, Signature, dict[str, Any]]:
        name = random.choice(sorted(MODELS))
        signature = MODELS[name]
        arrays = sample_inputs(signature, rows, seed=random.randrange(1 << 30), pool=1)[0]
        return name, signature, arrays

    @task(4)
    def typed_single(self) -> None:
        self._typed(1)

    @task(1)
    def typed_batch(self) -> None:
        self._typed(8)

    @task(4)
    def v2_single(self) -> None:
        self._v2(1)

    @task(1)
    def v2_batch(self) -> None:
        self._v2(8)

    def _typed(self, rows: int) -> None:
        name, _, arrays = self._pick(rows)
        body = {"model": name, "inputs": {n: a.tolist() for n, a in arrays.items()}}
        self.client.post("/predict", json=body, name=f"/predict [{name}, {rows} rows]")

    def _v2(self, rows: int) -> None:
        name, signature, arrays = self._pick(rows)
        inputs = [
            {
                "name": n,
                "shape": list(a.shape),
                "datatype": signature.input(n).datatype,
                "data": a.ravel().tolist(),
            }
            for n, a in arrays.items()
        ]
        self.client.post(
            f"/v2/models/{name}/infer",
            json={"inputs": inputs},
            name=f"/v2/models/{name}/infer [{rows} rows]",
        )
