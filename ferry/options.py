"""Options shared by every subcommand."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from export.registry import Expect

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


def local_folder(registry: str) -> Path | None:
    """The folder of a local registry (a path or file://PATH), None for a remote one."""
    if registry.startswith("file://"):
        return Path(registry.removeprefix("file://"))
    return None if "://" in registry else Path(registry)


def expect_value(text: str | None, given: bool = False) -> Expect:
    """`--expect`: unset (None) means "what the command read"; '-' means no alias yet."""
    from export.registry import UNSET

    if text is None:
        return None if given else UNSET
    return None if text.strip().lower() in ("-", "none", "") else text.strip()
