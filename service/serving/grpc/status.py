"""Errors as gRPC statuses: the one renderer's HTTP status, through `GRPC_CODES`."""

from __future__ import annotations

from typing import Any, NoReturn

import grpc

from service.serving.errors import GRPC_CODES, error_message
from service.serving.handlers import CONTENT_TYPE, Answer, error_answer


def grpc_code(status: int) -> grpc.StatusCode:
    """The gRPC code of an HTTP status (INTERNAL for anything unlisted)."""
    return grpc.StatusCode[GRPC_CODES.get(status, "INTERNAL")]


async def abort(context: Any, err: Exception, answer: Answer) -> NoReturn:
    """End the call (a `grpc.aio.ServicerContext`) with `err`'s code and message, as
    rendered in `answer` (`failed`); its headers (Retry-After) go to the trailing metadata."""
    trailing = tuple((k.lower(), v) for k, v in answer.headers.items() if k != CONTENT_TYPE)
    await context.abort(grpc_code(answer.status), error_message(err), trailing_metadata=trailing)
    raise AssertionError("context.abort returned")  # it raises; this tells the type checker


def failed(err: Exception, where: str) -> Answer:
    """The error rendered as every transport does (and logged if it is a bug)."""
    return error_answer(err, where)
