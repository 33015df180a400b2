"""`ferry models canary|shadow|shadow-report` and `promote --if-agreement`.

A canary or shadow lives in the registry's aliases object, beside its alias, and is
changed by compare-and-swap like an alias move: when the alias is no longer where the
command (or `--expect`) says, nothing changes and the command exits with
`EXIT_CONFLICT` (4). A promotion the shadow report does not allow exits with
`EXIT_GATE` (11), and nothing moves.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from ferry.options import DEFAULT_REGISTRY, RegistryOption, expect_value

if TYPE_CHECKING:
    from export.registry import Rollout

console = Console()
errors = Console(stderr=True)

AliasOption = Annotated[str, typer.Option(help="Alias whose traffic is split or mirrored.")]
ExpectOption = Annotated[
    str | None,
    typer.Option(
        "--expect",
        help="Change only if the alias points at this version now; default: where it "
        "pointed when the command read it.",
    ),
]


def canary(
    name: str,
    version: Annotated[
        str | None, typer.Argument(help="The canary version (not needed with --weight 0).")
    ] = None,
    weight: Annotated[
        float,
        typer.Option(help="Percent of the alias's requests the canary answers; 0 ends it."),
    ] = 10.0,
    alias: AliasOption = "production",
    expect: ExpectOption = None,
    registry: RegistryOption = DEFAULT_REGISTRY,
) -> None:
    """Send a share of an alias's traffic to another version, sticky by request key
    (`X-Canary-Key`, else the V2 `id`); `--weight 0`, `promote` or `rollback` end it."""
    from export.registry import Registry

    if version is None and weight != 0:
        raise typer.BadParameter("give the canary VERSION (or --weight 0 to end the canary)")
    rollout = Registry(registry).canary(
        name, version, weight, alias, "ferry models canary", expect_value(expect)
    )
    _said(name, alias, rollout)


def shadow(
    name: str,
    version: Annotated[
        str | None, typer.Argument(help="The shadow version (not needed with --off).")
    ] = None,
    fraction: Annotated[
        float, typer.Option(help="Share of the alias's answered requests mirrored (0 to 1].")
    ] = 1.0,
    off: Annotated[bool, typer.Option("--off", help="End the alias's shadow.")] = False,
    alias: AliasOption = "production",
    expect: ExpectOption = None,
    registry: RegistryOption = DEFAULT_REGISTRY,
) -> None:
    """Mirror what an alias's version answers to another version, after the answer, and
    compare: `ferry models shadow-report` shows the agreement."""
    from export.registry import Registry

    if (version is None) != off:
        raise typer.BadParameter("give either the shadow VERSION or --off")
    rollout = Registry(registry).shadow(
        name, None if off else version, fraction, alias, "ferry models shadow", expect_value(expect)
    )
    _said(name, alias, rollout)


def shadow_report(
    name: str,
    alias: AliasOption = "production",
    png: Annotated[
        Path | None, typer.Option(help="Also draw the report (confusion, cosines) as a PNG.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    registry: RegistryOption = DEFAULT_REGISTRY,
) -> None:
    """The agreement of the alias's shadow with its version, over every replica's
    traffic (the current shadow, else the latest one)."""
    from export.registry import Registry
    from export.shadow import report
    from ferry.shadow.show import confusion_table, figures_table, heading, replicas_table

    found = report(Registry(registry), name, alias)
    if found is None:
        console.print(f"{name}@{alias} has had no shadow (start one: ferry models shadow)")
        return
    if as_json:
        print(json.dumps(found.to_dict(), indent=2, sort_keys=True))
    else:
        console.print(heading(found), highlight=False, soft_wrap=True)
        console.print(figures_table(found))
        console.print(replicas_table(found))
        confusion = confusion_table(found)
        if confusion is not None:
            console.print(confusion)
    if png is not None:
        from ferry.shadow.plots import available, write_png

        if not available():
            errors.print("no PNG: matplotlib is missing (pip install 'ferry[report]')")
            return
        errors.print(f"report drawn in {write_png(found, png)}", highlight=False)


def promote_if_agreed(
    name: str, version: str, threshold: float, min_requests: int, alias: str, registry: str
) -> None:
    """`ferry models promote --if-agreement`: the gate, then the compare-and-swap move."""
    from export.registry import Registry
    from export.shadow import promote_if_agreed as gated

    previous, verdict = gated(Registry(registry), name, version, threshold, min_requests, alias)
    console.print(f"{name}@{alias}: {previous or '-'} → {version} ({verdict.reason})")


def _said(name: str, alias: str, rollout: Rollout) -> None:
    console.print(f"{name}@{alias}: {rollout.describe()}", highlight=False)
