"""Errors of the `service` package, each carrying its HTTP status as a class attribute.

`ServiceError` is the one base; the runtime raises the errors below, serving
(`service.serving.errors`) and scoring (`service.scoring.errors`) add their own
subclasses. One renderer (`service.serving.errors.render_error`) turns any of them
into a response.
"""

from __future__ import annotations

from http import HTTPStatus


class ServiceError(Exception):
    """Base error of the `service` package."""

    status: HTTPStatus = HTTPStatus.INTERNAL_SERVER_ERROR
    headers: dict[str, str] = {}  # noqa: RUF012 - overridden per instance when needed


class InvalidInput(ServiceError):
    """A request that cannot be scored; the message names the field and the bad value."""

    status = HTTPStatus.BAD_REQUEST


class ProviderUnavailable(ServiceError):
    """A required execution provider (e.g. CUDA with `require_gpu`) did not start."""


class ModelLoadError(ServiceError):
    """An artifact that could not be loaded or warmed up."""


def short(value: object, limit: int = 60) -> str:
    """`repr(value)` cut to `limit` characters, for echoing a client's value in a message.

    A client chooses what it sends: a 10 MB name or a 5,000-digit integer (whose
    `repr` Python refuses beyond 4,300 digits) must not come back whole.
    """
    try:
        text = repr(value)
    except ValueError:  # an integer beyond sys.get_int_max_str_digits()
        digits = int(value.bit_length() * 0.30103) if isinstance(value, int) else 0
        return f"<an integer of about {digits} digits>"
    return text if len(text) <= limit else text[: limit - 3] + "..."
