"""Turn the packages' own errors into one red line and an exit code, not a traceback.

Exit codes: 1 an error; 2 a usage error (typer); 3 some rows rejected (`ferry score`);
4 `EXIT_CONFLICT`, a compare-and-swap lost (an alias moved by someone else meanwhile;
nothing changed, re-read and retry); 5 `EXIT_REFUSED`, a promotion gate said no
(`ferry models promote --if-agreement`: the shadow's agreement or its request count is
too low; nothing moved); 75 `EXIT_LOCKED` (EX_TEMPFAIL), another job of the kind holds
the model's lock.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import typer
from rich.console import Console

EXIT_ERROR = 1
EXIT_CONFLICT = 4
EXIT_REFUSED = 5
EXIT_LOCKED = 75
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
            Console(stderr=True).print(f"[red]error:[/red] {err}", highlight=False, soft_wrap=True)
            raise typer.Exit(exit_code(err)) from err

    return wrapper  # type: ignore[return-value]


def exit_code(err: Exception) -> int:
    """The exit status for one of ferry's errors."""
    from export.errors import Conflict, GateRefused, Locked

    if isinstance(err, Conflict):
        return EXIT_CONFLICT
    if isinstance(err, GateRefused):
        return EXIT_REFUSED
    if isinstance(err, Locked):
        return EXIT_LOCKED
    return EXIT_ERROR
