"""Options shared by every subcommand."""

from __future__ import annotations

from typing import Annotated

import typer

RegistryOption = Annotated[
    str,
    typer.Option(
        "--registry",
        envvar="FERRY_REGISTRY",
        help="Registry: a folder, file://PATH or s3://BUCKET/PREFIX "
        "(default: $FERRY_REGISTRY, then ./registry).",
        show_default=True,
    ),
]
DEFAULT_REGISTRY = "registry"
