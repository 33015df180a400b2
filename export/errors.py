"""Errors of the artifact contract, each carrying the HTTP status it maps to."""

from __future__ import annotations

from http import HTTPStatus


class ExportError(Exception):
    """Base error of the `export` package."""

    status: HTTPStatus = HTTPStatus.INTERNAL_SERVER_ERROR


class InvalidReference(ExportError):
    """A model reference that does not parse (`name`, `name:version`, `name@alias`)."""

    status = HTTPStatus.BAD_REQUEST


class ModelNotFound(ExportError):
    """No model, version or alias of that name in the registry."""

    status = HTTPStatus.NOT_FOUND


class IntegrityError(ExportError):
    """An artifact whose files do not match the sha256 in its manifest."""

    status = HTTPStatus.CONFLICT


class ParityError(ExportError):
    """The exported graph disagrees with the PyTorch module; publishing is blocked."""

    status = HTTPStatus.UNPROCESSABLE_ENTITY


class ManifestError(ExportError):
    """A manifest that is missing, unreadable or inconsistent with its artifact."""

    status = HTTPStatus.UNPROCESSABLE_ENTITY


class Locked(ExportError):
    """A job (e.g. a retrain) of the same model already holds its lock; `pid` is the holder."""

    status = HTTPStatus.CONFLICT

    def __init__(self, message: str, *, path: object = None, pid: int = 0) -> None:
        super().__init__(message)
        self.path = path
        self.pid = pid


class Conflict(ExportError):
    """A compare-and-swap lost: the alias (or document) is no longer what the writer expected.

    `expected` and `found` name the values compared; nothing was written."""

    status = HTTPStatus.CONFLICT

    def __init__(self, message: str, *, expected: object = None, found: object = None) -> None:
        super().__init__(message)
        self.expected = expected
        self.found = found


class StorageError(ExportError):
    """The registry's store cannot be reached or used: unreachable endpoint, refused
    credentials, a missing bucket, a URL scheme whose fsspec package is not installed."""

    status = HTTPStatus.SERVICE_UNAVAILABLE


class NoDriftReference(ExportError):
    """A version published without reference statistics: its drift cannot be measured."""

    status = HTTPStatus.CONFLICT


class GateRefused(ExportError):
    """A promotion gate said no (e.g. the shadow's agreement is below the threshold, or
    it compared too few requests); nothing was moved."""

    status = HTTPStatus.PRECONDITION_FAILED
