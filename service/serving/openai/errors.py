"""Errors in OpenAI's shape, with the statuses of the one renderer (`service.serving.errors`)."""

from __future__ import annotations

from typing import Any

from service.runtime.errors import InvalidInput
from service.serving import jsonio
from service.serving.errors import UnknownModel, error_message
from service.serving.handlers import Answer, error_answer

#: OpenAI's error `type` and `code` for each HTTP status we answer.
KINDS: dict[int, tuple[str, str | None]] = {
    400: ("invalid_request_error", None),
    404: ("invalid_request_error", "model_not_found"),
    413: ("invalid_request_error", "request_too_large"),
    429: ("rate_limit_error", "rate_limit_exceeded"),
    503: ("server_error", "service_unavailable"),
    504: ("server_error", "timeout"),
}


class BadParameter(InvalidInput):
    """A 400 that names the request parameter at fault (OpenAI's `param`)."""

    def __init__(self, message: str, param: str | None) -> None:
        super().__init__(message)
        self.param = param


class NotEmbedding(UnknownModel):
    """A model that is not served, or is no embedding model: a 404 on `model`."""

    param = "model"


def openai_error(err: Exception, where: str) -> Answer:
    """`err` as OpenAI answers it; status, headers and logging as every other transport."""
    answer = error_answer(err, where)
    kind, code = KINDS.get(answer.status, ("server_error", None))
    body: dict[str, Any] = {
        "message": error_message(err),
        "type": kind,
        "param": getattr(err, "param", None),
        "code": code,
    }
    return Answer(answer.status, jsonio.dumps({"error": body}), answer.headers)
