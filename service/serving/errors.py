"""Errors of the online server, and the one renderer every transport uses.

Each error carries its HTTP status as a class attribute (`service.runtime.errors`);
`render_error` is the single table from error to status, headers and JSON body, so
the lean front, the FastAPI routes and the BentoML API answer a failure alike.
`GRPC_CODES` maps the same statuses to gRPC status codes (`service.serving.grpc`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from http import HTTPStatus

from export.errors import ExportError
from service.runtime.errors import InvalidInput, ServiceError
from service.serving import jsonio


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


class BodyTimeout(ServiceError):
    """A request body that did not arrive in time (a slow or stalled client)."""

    status = HTTPStatus.REQUEST_TIMEOUT


class DeadlineExceeded(ServiceError):
    """A request not answered within its deadline."""

    status = HTTPStatus.GATEWAY_TIMEOUT


class Overloaded(ServiceError):
    """The queue is at its bound; the client should retry after a pause."""

    status = HTTPStatus.TOO_MANY_REQUESTS

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.headers = {"Retry-After": str(retry_after_s)}


@dataclass(frozen=True)
class ErrorAnswer:
    """An error as every transport sends it: status, extra headers, JSON body."""

    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


def error_status(err: BaseException) -> int:
    """The HTTP status of any error: ours carry it; anything else is a 500."""
    if isinstance(err, ServiceError | ExportError):
        return int(err.status)
    return int(HTTPStatus.INTERNAL_SERVER_ERROR)


def error_message(err: BaseException) -> str:
    """What the client is told: our message, or the type of an error that is not ours
    (a bug), so the log and the client can tell it from a refusal."""
    if not isinstance(err, ServiceError | ExportError):
        return f"internal error: {type(err).__name__}: {err}"
    return str(err)


def render_error(err: BaseException) -> ErrorAnswer:
    """`{"error": message}` with the error's status and headers (e.g. Retry-After)."""
    headers = dict(getattr(err, "headers", None) or {})
    return ErrorAnswer(error_status(err), jsonio.dumps({"error": error_message(err)}), headers)


#: The gRPC status code (a `grpc.StatusCode` name) of each HTTP status we answer;
#: anything not listed is INTERNAL. 413 and 429 are both RESOURCE_EXHAUSTED, as gRPC
#: itself answers a message over its size limit.
GRPC_CODES: dict[int, str] = {
    HTTPStatus.BAD_REQUEST: "INVALID_ARGUMENT",
    HTTPStatus.FORBIDDEN: "PERMISSION_DENIED",
    HTTPStatus.NOT_FOUND: "NOT_FOUND",
    HTTPStatus.CONFLICT: "ABORTED",
    HTTPStatus.REQUEST_ENTITY_TOO_LARGE: "RESOURCE_EXHAUSTED",
    HTTPStatus.UNPROCESSABLE_ENTITY: "FAILED_PRECONDITION",
    HTTPStatus.TOO_MANY_REQUESTS: "RESOURCE_EXHAUSTED",
    HTTPStatus.SERVICE_UNAVAILABLE: "UNAVAILABLE",
    HTTPStatus.GATEWAY_TIMEOUT: "DEADLINE_EXCEEDED",
}


def invalid(message: str) -> ErrorAnswer:
    """A 400 for a request the framework refused before any handler ran."""
    return render_error(InvalidInput(message))
