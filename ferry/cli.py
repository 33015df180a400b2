"""`ferry` — train, export, publish, serve and manage models."""

from __future__ import annotations

import sys

import typer

from ferry.commands import models, predict, serve, train

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
app.add_typer(models.app, name="models")
app.command("train")(train.train)
app.command("serve")(serve.serve)
app.command("predict")(predict.predict)


def main() -> None:
    from ferry.errors import run_cli

    sys.exit(run_cli(app))
