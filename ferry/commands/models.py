"""`ferry models list|show|promote|rollback|history`."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from ferry.errors import friendly
from ferry.options import DEFAULT_REGISTRY, RegistryOption

app = typer.Typer(no_args_is_help=True, help="Inspect the registry and move aliases.")
console = Console()


@app.command("list")
@friendly
def list_models(registry: RegistryOption = DEFAULT_REGISTRY) -> None:
    """Every model with its versions and aliases."""
    from export.registry import Registry

    reg = Registry(registry)
    table = Table("model", "versions", "aliases", "latest metrics")
    for name in reg.models():
        versions = reg.versions(name)
        aliases = ", ".join(f"{a}→{v}" for a, v in sorted(reg.aliases(name).items()))
        metrics = reg.get(f"{name}:{versions[-1]}", verify=False).manifest.metrics
        shown = " ".join(f"{k}={v:.4f}" for k, v in sorted(metrics.items()))
        table.add_row(name, ", ".join(versions), aliases or "-", shown or "-")
    console.print(table if reg.models() else f"no models in {registry}")


@app.command()
@friendly
def show(
    ref: Annotated[str, typer.Argument(help="name, name:version or name@alias")],
    registry: RegistryOption = DEFAULT_REGISTRY,
) -> None:
    """Print a version's manifest (after checking its sha256)."""
    from export.registry import Registry

    artifact = Registry(registry).get(ref)
    print(json.dumps(artifact.manifest.to_dict(), indent=2, sort_keys=True))


@app.command()
@friendly
def promote(
    name: str,
    version: str,
    alias: Annotated[str, typer.Option(help="Alias to move.")] = "production",
    registry: RegistryOption = DEFAULT_REGISTRY,
) -> None:
    """Point an alias (default `production`) at a version."""
    from export.registry import Registry

    previous = Registry(registry).promote(name, version, alias, reason="ferry models promote")
    console.print(f"{name}@{alias}: {previous or '-'} → {version}")


@app.command()
@friendly
def rollback(
    name: str,
    alias: Annotated[str, typer.Option(help="Alias to move back.")] = "production",
    registry: RegistryOption = DEFAULT_REGISTRY,
) -> None:
    """Move an alias back to the version it pointed to before its last move."""
    from export.registry import Registry

    reg = Registry(registry)
    current = reg.aliases(name).get(alias)
    target = reg.rollback(name, alias, reason="ferry models rollback")
    console.print(f"{name}@{alias}: {current} → {target}")


@app.command()
@friendly
def history(name: str, registry: RegistryOption = DEFAULT_REGISTRY) -> None:
    """The model's append-only history: publishes and alias moves."""
    from export.registry import Registry

    table = Table("at", "event", "alias", "version", "previous", "reason")
    for event in Registry(registry).history(name):
        table.add_row(
            *(
                str(event.get(k) or "-")
                for k in ("at", "event", "alias", "version", "previous", "reason")
            )
        )
    console.print(table)
