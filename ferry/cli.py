"""`ferry` — train, export, publish, serve and manage models."""

from __future__ import annotations

import typer

from ferry.commands import (
    bench,
    data,
    drift,
    export,
    models,
    predict,
    retrain,
    score,
    serve,
    train,
)
from ferry.errors import friendly

# Every subcommand prints its errors as one line (ferry.errors); no rich tracebacks.
app = typer.Typer(
    no_args_is_help=True, add_completion=False, help=__doc__, pretty_exceptions_enable=False
)
app.add_typer(models.app, name="models")
app.command("train")(friendly(train.train))
app.command("export")(friendly(export.export))
app.command("serve")(friendly(serve.serve))
app.command("predict")(friendly(predict.predict))
app.command("score")(friendly(score.score))
app.add_typer(bench.app, name="bench")
app.command("retrain")(friendly(retrain.retrain))
app.command("drift")(friendly(drift.drift))
app.add_typer(data.app, name="data")


def main() -> None:
    app()
