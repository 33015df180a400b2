"""Errors of the `training` package."""

from __future__ import annotations

from http import HTTPStatus


class TrainingError(Exception):
    """Base error of the `training` package."""

    status: HTTPStatus = HTTPStatus.INTERNAL_SERVER_ERROR


class DataError(TrainingError, ValueError):
    """Training data that cannot be used: unreadable, malformed or unsuitable."""

    status = HTTPStatus.BAD_REQUEST


class UnknownRecipe(TrainingError, LookupError):
    """No training recipe of that name is registered."""

    status = HTTPStatus.NOT_FOUND


class RetrainError(TrainingError):
    """The retraining job cannot run as asked (no recipe, no base data, no fresh rows...)."""

    status = HTTPStatus.UNPROCESSABLE_ENTITY
