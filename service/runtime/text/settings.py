"""Settings of text models, read once at start-up from `FERRY_TEXT_*` environment variables."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from service.runtime.settings import split_list


class TextSettings(BaseSettings):
    """How requests to text models are grouped into batches, and how long a text may be."""

    model_config = SettingsConfigDict(env_prefix="FERRY_TEXT_", extra="ignore")

    # Upper token counts of the length buckets (FERRY_TEXT_BUCKETS=16,32,64,128); each
    # model adds its own max length as the last bucket. One value (e.g. 512) turns
    # bucketing off: every request then batches with every other.
    buckets: Annotated[tuple[int, ...], NoDecode] = Field(default=(16, 32, 64, 128))
    # Longest text accepted, in characters (FERRY_TEXT_MAX_CHARS). A model reads at most
    # its max length in tokens; a longer text only costs tokenising time, which a few
    # megabytes of text in one request would spend for nothing.
    max_chars: int = Field(default=100_000, ge=1)

    @field_validator("buckets", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        return split_list(value)

    @field_validator("buckets")
    @classmethod
    def _positive(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if not value or min(value) < 1:
            raise ValueError(f"expected positive token counts, got {list(value)}")
        return value
