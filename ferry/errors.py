"""Turn the packages' errors into one red line and an exit code, not a traceback."""

from __future__ import annotations

import click
import typer
from rich.console import Console

EXIT_ERROR = 1


def run_cli(app: typer.Typer) -> int:
    try:
        app(standalone_mode=False)
    except typer.Exit as done:
        return int(done.exit_code)
    except typer.Abort:
        return 130
    except click.ClickException as err:
        err.show()
        return err.exit_code
    except Exception as err:
        if not _ours(err):
            raise
        Console(stderr=True).print(f"[red]error:[/red] {err}", highlight=False)
        return EXIT_ERROR
    return 0


def _ours(err: Exception) -> bool:
    module = type(err).__module__.split(".")[0]
    return module in {"export", "training", "service"}
