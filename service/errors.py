"""Errors raised while serving, each carrying its HTTP status; one handler renders them."""

from __future__ import annotations

from http import HTTPStatus


class ServiceError(Exception):
    """Base error of the `service` package."""

    status: HTTPStatus = HTTPStatus.INTERNAL_SERVER_ERROR
    headers: dict[str, str] = {}  # noqa: RUF012 - overridden per instance when needed


class InvalidInput(ServiceError):
    """A request that cannot be scored; the message names the field and the bad value."""

    status = HTTPStatus.BAD_REQUEST


class TooLarge(ServiceError):
    """A request body beyond the configured size bound."""

    status = HTTPStatus.REQUEST_ENTITY_TOO_LARGE


class NotFound(ServiceError):
    status = HTTPStatus.NOT_FOUND


class UnknownModel(NotFound):
    """A model or version this service does not serve."""


class Forbidden(ServiceError):
    """A missing or wrong admin token."""

    status = HTTPStatus.FORBIDDEN


class NotReady(ServiceError):
    status = HTTPStatus.SERVICE_UNAVAILABLE


class Overloaded(ServiceError):
    """The queue is at its bound; the client should retry after a pause."""

    status = HTTPStatus.TOO_MANY_REQUESTS

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.headers = {"Retry-After": str(retry_after_s)}


class ProviderUnavailable(ServiceError):
    """A required execution provider (e.g. CUDA with `require_gpu`) did not start."""


class ModelLoadError(ServiceError):
    """An artifact that could not be loaded or warmed up."""
