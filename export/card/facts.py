"""What a card is drawn from: a version's manifest plus what the registry knows about it now.

The manifest is immutable; aliases and benchmark figures change after publishing,
so a card is rendered when asked for rather than stored in the version.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from export.reference import Reference


class Source(Protocol):
    """The registry methods a card needs (the local and any other registry have them)."""

    def get(self, ref: str | Reference, verify: bool = True) -> Any: ...

    def aliases(self, name: str) -> dict[str, str]: ...

    def history(self, name: str) -> list[dict[str, Any]]: ...

    def benchmarks(self, name: str) -> list[dict[str, Any]]: ...


@dataclass(frozen=True)
class CardFacts:
    """One version's manifest (as plain JSON) and its model's aliases, history and figures."""

    manifest: dict[str, Any]
    aliases: dict[str, str] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)
    benchmarks: list[dict[str, Any]] = field(default_factory=list)

    @property
    def name(self) -> str:
        return str(self.manifest.get("name", "?"))

    @property
    def version(self) -> str:
        return str(self.manifest.get("version", "?"))

    @property
    def evaluation(self) -> dict[str, Any]:
        return dict(self.manifest.get("evaluation") or {})

    def own_aliases(self) -> list[str]:
        """The aliases pointing at this version now."""
        return sorted(a for a, v in self.aliases.items() if v == self.version)

    def latest_benchmarks(self) -> dict[str, dict[str, Any]]:
        """The newest benchmark entry of each kind measured on this version."""
        latest: dict[str, dict[str, Any]] = {}
        for entry in self.benchmarks:  # oldest first, so later entries win
            if str(entry.get("version")) == self.version:
                latest[str(entry.get("kind", "other"))] = entry
        return latest

    def variants_measured(self) -> list[dict[str, Any]]:
        """Variant measurements that used this version as their fp32 source, newest first."""
        found = [
            e
            for e in self.benchmarks
            if e.get("kind") == "variant" and str(e.get("source_version")) == self.version
        ]
        return found[::-1]


def card_facts(registry: Source, ref: str | Reference) -> CardFacts:
    """The facts for `ref`'s card; an unknown model or version raises the registry's error."""
    artifact = registry.get(ref, verify=False)  # the card reads the manifest only
    manifest = artifact.manifest.to_dict()
    name = manifest["name"]
    return CardFacts(
        manifest=manifest,
        aliases=registry.aliases(name),
        history=registry.history(name),
        benchmarks=registry.benchmarks(name),
    )
