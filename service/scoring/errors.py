"""Errors of batch scoring; `ferry` prints them as one line instead of a traceback."""

from __future__ import annotations

from http import HTTPStatus

from service.runtime.errors import ServiceError


class BatchError(ServiceError):
    """Base error of batch scoring."""

    status = HTTPStatus.BAD_REQUEST


class InputError(BatchError):
    """An input path or file that cannot be read as CSV or Parquet."""


class PathConflict(BatchError):
    """An output path that is the input, lies in the input folder, or is the other output."""


class MissingColumns(BatchError):
    """The input lacks columns the model needs; the message lists every one of them."""


class JobBusy(BatchError):
    """Another process is running the same job right now."""

    status = HTTPStatus.CONFLICT
