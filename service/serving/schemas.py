"""Typed request and response bodies of the JSON predict endpoint."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class PredictResponse(BaseModel):
    """Outputs by name, the predicted label per row when the model has labels, and who answered."""

    model_name: str
    model_version: str
    outputs: dict[str, list[Any]]
    predictions: list[str] | None = Field(
        default=None, description="argmax label per row, for classifiers"
    )
