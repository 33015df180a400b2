"""How `ferry` fails: one line that names what is wrong and what to do, and an exit code
per kind of mistake — never a traceback (`FERRY_DEBUG=1` shows one).

| code | meaning |
|---|---|
| 0 | done |
| 1 | the operation failed (bad data, a failed export or parity check, a broken artifact) |
| 2 | a bad option or argument value (also click's own usage errors) |
| 3 | `ferry score`: some rows could not be scored (see the rejects file) |
| 4 | a lost compare-and-swap: an alias moved meanwhile; nothing changed, re-read and retry |
| 5 | no model, version or alias of that name |
| 6 | no server answers at the URL |
| 7 | `ferry serve`: the port is already in use |
| 8 | the server answered with an error |
| 9 | no space left on the device |
| 10 | a file or folder is missing or cannot be read |
| 11 | `ferry models promote --if-agreement`: the gate said no; nothing moved |
| 70 | a bug in ferry (please report it with the `FERRY_DEBUG=1` traceback) |
| 75 | another job holds the model's lock (`ferry retrain`); try again later |
| 130 | interrupted (Ctrl-C) |
"""

from __future__ import annotations

import errno
import functools
import os
from collections.abc import Callable
from enum import IntEnum
from pathlib import Path
from typing import Any, TypeVar

import typer
from rich.console import Console

F = TypeVar("F", bound=Callable[..., Any])


class Code(IntEnum):
    """Exit codes, one per kind of mistake (the table above)."""

    FAILED = 1
    USAGE = 2
    REJECTED = 3
    CONFLICT = 4
    UNKNOWN_MODEL = 5
    UNREACHABLE = 6
    PORT_IN_USE = 7
    REFUSED = 8
    NO_SPACE = 9
    NO_FILE = 10
    GATE = 11
    INTERNAL = 70
    LOCKED = 75
    INTERRUPTED = 130


EXIT_ERROR = Code.FAILED  # the names other modules use
EXIT_CONFLICT = Code.CONFLICT
EXIT_LOCKED = Code.LOCKED
EXIT_GATE = Code.GATE
OUR_PACKAGES = frozenset({"export", "training", "service", "ferry", "loadtests"})


class CommandError(Exception):
    """A mistake a subcommand found itself: its message and its exit code."""

    def __init__(self, message: str, code: Code) -> None:
        super().__init__(message)
        self.code = code


def friendly(command: F) -> F:
    """Wrap a subcommand so every error prints as one line with its exit code."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except (typer.Exit, typer.Abort, SystemExit):
            raise
        except Exception as err:
            if _debug() or _is_click(err):
                raise
            code, message = classify(err)
        except KeyboardInterrupt:
            if _debug():
                raise
            code, message = Code.INTERRUPTED, "interrupted"
        Console(stderr=True).print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
        raise typer.Exit(int(code))

    return wrapper  # type: ignore[return-value]


def existing(path: Path, what: str) -> Path:
    """`path` if it exists, else a `CommandError` naming it (exit code 10)."""
    if not path.exists():
        raise CommandError(f"{what} {path}: no such file or folder", Code.NO_FILE)
    return path


def classify(err: Exception) -> tuple[Code, str]:
    """The exit code and the one line for an error raised by a subcommand."""
    if isinstance(err, CommandError):
        return err.code, str(err)
    name = type(err).__name__
    for kind in type(err).__mro__:
        code = _BY_NAME.get(kind.__name__)
        if code is not None and _ours(kind):
            return code, str(err)
    if isinstance(err, OSError):
        return _os_error(err)
    if _module(err) == "httpx":
        return _http_error(err)
    if _ours(type(err)):
        return Code.FAILED, str(err)
    return Code.INTERNAL, f"internal error: {name}: {err} (FERRY_DEBUG=1 shows the traceback)"


# our errors by class name (a subclass inherits its parent's code), so the CLI imports
# no package until an error of that package is raised
_BY_NAME = {
    "Conflict": Code.CONFLICT,
    "ModelNotFound": Code.UNKNOWN_MODEL,
    "InvalidReference": Code.USAGE,
    "UnknownRecipe": Code.USAGE,
    "PathConflict": Code.USAGE,
    "Locked": Code.LOCKED,
    "GateRefused": Code.GATE,
}


def _os_error(err: OSError) -> tuple[Code, str]:
    where = f"{err.filename}: " if err.filename else ""
    what = err.strerror or str(err)
    if err.errno in (errno.ENOSPC, errno.EDQUOT):
        return Code.NO_SPACE, f"{where}{what}: free some space and run again"
    if isinstance(err, FileNotFoundError | NotADirectoryError | IsADirectoryError):
        return Code.NO_FILE, f"{where}{what}"
    if isinstance(err, PermissionError):
        return Code.NO_FILE, f"{where}{what}: check the file's owner and mode"
    return Code.FAILED, f"{where}{what}"


def _http_error(err: Exception) -> tuple[Code, str]:
    import httpx

    url = _url(err)
    if isinstance(err, httpx.UnsupportedProtocol | httpx.InvalidURL):
        return Code.USAGE, f"--url {url}: {err} (expected http://HOST:PORT)"
    if isinstance(err, httpx.TransportError):
        return Code.UNREACHABLE, (
            f"cannot reach {url}: {err or type(err).__name__}; is `ferry serve` running there? "
            "(--url or $FERRY_URL)"
        )
    return Code.FAILED, f"{url}: {err}"


def _url(err: Exception) -> str:
    try:
        return str(err.request.url)  # type: ignore[attr-defined]
    except (AttributeError, RuntimeError):  # httpx raises RuntimeError when unset
        return "the server"


def _module(err: Exception) -> str:
    return type(err).__module__.split(".")[0]


def _ours(kind: type) -> bool:
    return kind.__module__.split(".")[0] in OUR_PACKAGES


def _is_click(err: Exception) -> bool:
    """A usage error (typer's vendored click, or click): click prints it with the usage."""
    return any(kind.__name__ == "ClickException" for kind in type(err).__mro__)


def _debug() -> bool:
    return os.environ.get("FERRY_DEBUG", "") not in ("", "0", "false")
