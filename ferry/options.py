"""Options shared by every subcommand."""

from __future__ import annotations

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


def expect_value(text: str | None, given: bool = False) -> Expect:
    """`--expect`: unset (None) means "what the command read"; '-' means no alias yet."""
    from export.registry import UNSET

    if text is None:
        return None if given else UNSET
    return None if text.strip().lower() in ("-", "none", "") else text.strip()
