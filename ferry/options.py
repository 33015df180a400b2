"""Options shared by every subcommand."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

RegistryOption = Annotated[
    Path,
    typer.Option(
        "--registry",
        envvar="FERRY_REGISTRY",
        help="Registry folder (default: $FERRY_REGISTRY, then ./registry).",
        show_default=True,
    ),
]
DEFAULT_REGISTRY = Path("registry")
