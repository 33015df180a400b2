"""`ferry models list|show|card|compare|promote|rollback|history|copy|gc`, and the
rollout commands `canary|shadow|shadow-report` (`ferry.commands.rollouts`).

Alias moves are compare-and-swap: when the alias is no longer where the command (or
`--expect`) says, nothing changes and the command exits with `EXIT_CONFLICT` (4). A
`promote --if-agreement` the shadow report does not allow exits with `EXIT_GATE` (11).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from ferry.commands import rollouts
from ferry.errors import friendly
from ferry.options import DEFAULT_REGISTRY, RegistryOption, expect_value

if TYPE_CHECKING:
    from export.registry import Expect

app = typer.Typer(no_args_is_help=True, help="Inspect the registry and move aliases.")
console = Console()
app.command("canary")(friendly(rollouts.canary))
app.command("shadow")(friendly(rollouts.shadow))
app.command("shadow-report")(friendly(rollouts.shadow_report))


@app.command("list")
@friendly
def list_models(registry: RegistryOption = DEFAULT_REGISTRY) -> None:
    """Every model with its versions and aliases."""
    from export.registry import Registry

    reg = Registry(registry)
    table = Table("model", "versions", "aliases", "latest metrics")
    models = reg.models()
    for name in models:
        versions = reg.versions(name)
        state = reg.alias_state(name)
        aliases = ", ".join(
            f"{a}→{v}" + (f" ({state.rollouts[a].describe()})" if a in state.rollouts else "")
            for a, v in sorted(state.aliases.items())
        )
        metrics = reg.manifest(name, versions[-1]).metrics
        shown = " ".join(f"{k}={v:.4f}" for k, v in sorted(metrics.items()))
        table.add_row(name, ", ".join(versions), aliases or "-", shown or "-")
    console.print(table if models else f"no models in {reg.url}")


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


ExpectOption = Annotated[
    str | None,
    typer.Option(
        "--expect",
        help="Move only if the alias points at this version now ('-': only if it does not "
        "exist yet); default: where it pointed when the command read it.",
    ),
]


@app.command()
@friendly
def card(
    ref: Annotated[str, typer.Argument(help="name, name:version or name@alias")],
    out: Annotated[
        Path | None, typer.Option(help="HTML file to write (default: NAME-vVERSION-card.html).")
    ] = None,
    registry: RegistryOption = DEFAULT_REGISTRY,
) -> None:
    """Write a version's model card: one self-contained HTML page with its charts."""
    from export.card import card_facts, render_card
    from export.manifest import atomic_write_text
    from export.registry import Registry

    facts = card_facts(Registry(registry), ref)
    path = out or Path(f"{facts.name}-v{facts.version}-card.html")
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, render_card(facts))
    console.print(
        f"card of {facts.name}:{facts.version} written to {path}", highlight=False, soft_wrap=True
    )


@app.command()
@friendly
def compare(
    first: Annotated[str, typer.Argument(help="name, name:version or name@alias")],
    second: Annotated[str, typer.Argument(help="the version to set beside it")],
    out: Annotated[
        Path | None,
        typer.Option(help="HTML file to write (default: NAME-vA-vs-vB.html)."),
    ] = None,
    registry: RegistryOption = DEFAULT_REGISTRY,
) -> None:
    """Two versions side by side: facts, metrics and their curves overlaid."""
    from export.card import card_facts, render_compare
    from export.manifest import atomic_write_text
    from export.registry import Registry

    reg = Registry(registry)
    a, b = card_facts(reg, first), card_facts(reg, second)
    path = out or Path(f"{a.name}-v{a.version}-vs-{b.name}-v{b.version}.html")
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, render_compare(a, b))
    console.print(
        f"{a.name}:{a.version} vs {b.name}:{b.version} written to {path}",
        highlight=False,
        soft_wrap=True,
    )


@app.command()
@friendly
def promote(
    name: str,
    version: str,
    alias: Annotated[str, typer.Option(help="Alias to move.")] = "production",
    expect: ExpectOption = None,
    if_agreement: Annotated[
        float | None,
        typer.Option(
            min=0.0,
            max=1.0,
            help="Only if VERSION, shadowing the alias, agreed at least this much with it "
            "(label agreement; mean cosine for models without labels); else exit 11.",
        ),
    ] = None,
    min_requests: Annotated[
        int,
        typer.Option(min=1, help="With --if-agreement: requests the shadow compared, at least."),
    ] = 100,
    registry: RegistryOption = DEFAULT_REGISTRY,
) -> None:
    """Point an alias (default `production`) at a version, by compare-and-swap (which
    ends the alias's canary and shadow)."""
    from export.registry import Registry

    if if_agreement is not None:
        if expect is not None:
            raise typer.BadParameter("--expect: the gate expects the version its report is about")
        rollouts.promote_if_agreed(name, version, if_agreement, min_requests, alias, registry)
        return
    previous = Registry(registry).promote(
        name, version, alias, reason="ferry models promote", expect=_expect(expect)
    )
    console.print(f"{name}@{alias}: {previous or '-'} → {version}")


@app.command()
@friendly
def rollback(
    name: str,
    alias: Annotated[str, typer.Option(help="Alias to move back.")] = "production",
    expect: ExpectOption = None,
    registry: RegistryOption = DEFAULT_REGISTRY,
) -> None:
    """Move an alias back to the version it pointed to before its last move."""
    from export.registry import Registry

    reg = Registry(registry)
    current = reg.aliases(name).get(alias) if expect is None else expect
    target = reg.rollback(
        name, alias, reason="ferry models rollback", expect=_expect(current, given=True)
    )
    console.print(f"{name}@{alias}: {current} → {target}")


@app.command()
@friendly
def history(name: str, registry: RegistryOption = DEFAULT_REGISTRY) -> None:
    """The model's append-only history (publishes, alias moves) and retraining decisions."""
    from export.registry import Registry

    reg = Registry(registry)
    table = Table(
        "at", "event", "alias", "version", "previous", "rollout", "reason", title="alias history"
    )
    for event in reg.history(name):
        cells = [str(event.get(k) or "-") for k in ("at", "event", "alias", "version", "previous")]
        table.add_row(*cells, _rollout(event), str(event.get("reason") or "-"))
    console.print(table)
    decisions = reg.audit(name)
    if decisions:
        console.print(decisions_table(decisions))


@app.command()
@friendly
def copy(
    ref: Annotated[str, typer.Argument(help="name, name:version or name@alias")],
    to: Annotated[
        str, typer.Option("--to", help="Target registry (folder or URL), e.g. deploy/baked.")
    ],
    alias: Annotated[str, typer.Option(help="Alias to set in the target.")] = "production",
    registry: RegistryOption = DEFAULT_REGISTRY,
) -> None:
    """Copy a version into another registry (e.g. to bake it into an image)."""
    from export.registry import Registry
    from export.transfer import copy_version

    artifact = copy_version(Registry(registry), ref, Registry(to), alias)
    m = artifact.manifest
    console.print(f"copied {m.name}:{m.version} to {to} ({alias} → {m.version})")


@app.command()
@friendly
def gc(
    older_than: Annotated[
        str,
        typer.Option(
            help="Only what is untouched for this long (45s, 30m, 6h, 1d); longer than the "
            "longest publish."
        ),
    ] = "24h",
    dry_run: Annotated[bool, typer.Option(help="List what would go; remove nothing.")] = False,
    registry: RegistryOption = DEFAULT_REGISTRY,
) -> None:
    """Remove what killed publishes left: unpublished version folders and drafts."""
    from export.registry import Registry
    from training.retrain.schedule import parse_duration

    seconds = parse_duration(older_than)
    removed = Registry(registry).gc(seconds, dry_run=dry_run)
    verb = "would remove" if dry_run else "removed"
    for url in removed:
        console.print(f"{verb} {url}", highlight=False, soft_wrap=True)
    console.print(f"{verb} {len(removed)} orphan(s) older than {older_than}")


def decisions_table(decisions: list[dict[str, Any]]) -> Table:
    """One row per retraining decision from the model's audit stream."""
    table = Table(
        "at",
        "decision",
        "champion",
        "challenger",
        "primary metric",
        "holdout rows",
        "data",
        "reason",
        title="retraining decisions (audit)",
    )
    for entry in decisions:
        metric = entry.get("primary_metric", "")
        scores = entry.get("metrics", {})
        old = scores.get("champion", {}).get(metric)
        new = scores.get("challenger", {}).get(metric)
        shown = f"{metric} {_fmt(old)} → {_fmt(new)}"
        table.add_row(
            str(entry.get("at", "-")),
            str(entry.get("decision", "-")) + (" (recovered)" if entry.get("recovered") else ""),
            str(entry.get("champion") or "-"),
            str(entry.get("challenger") or "-"),
            shown,
            str(entry.get("holdout", {}).get("rows", "-")),
            str(entry.get("data_fingerprint", ""))[:19],
            str(entry.get("reason", "")),
        )
    return table


def _rollout(event: dict[str, Any]) -> str:
    """What a move did to the alias's canary or shadow, in a few words."""
    kind = event.get("event")
    if kind == "canary":
        return f"canary {event.get('canary')} at {event.get('weight', 0):g}%"
    if kind == "canary-end":
        return f"canary {event.get('canary')} ended"
    if kind == "shadow":
        return f"shadow {event.get('shadow')} at {float(event.get('fraction', 0)) * 100:g}%"
    if kind == "shadow-end":
        return f"shadow {event.get('shadow')} ended"
    gate = event.get("gate")
    ended = event.get("ended")
    said = []
    if isinstance(gate, dict):
        said.append(f"gate: agreement {gate.get('agreement', 0):.4f} ≥ {gate.get('threshold')}")
    if isinstance(ended, dict):
        said.append("ended " + ", ".join(k for k in ("canary", "shadow") if k in ended))
    return "; ".join(said) or "-"


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def _expect(text: str | None, given: bool = False) -> Expect:
    return expect_value(text, given)
