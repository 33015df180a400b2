"""Turn the packages' own errors into one red line and exit code 1, not a traceback."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import typer
from rich.console import Console

EXIT_ERROR = 1
OUR_PACKAGES = frozenset({"export", "training", "service", "ferry"})
F = TypeVar("F", bound=Callable[..., Any])


def friendly(command: F) -> F:
    """Wrap a subcommand so errors raised by ferry's packages print as a message."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except Exception as err:
            if type(err).__module__.split(".")[0] not in OUR_PACKAGES:
                raise
            Console(stderr=True).print(f"[red]error:[/red] {err}", highlight=False)
            raise typer.Exit(EXIT_ERROR) from err

    return wrapper  # type: ignore[return-value]
