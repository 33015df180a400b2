"""Alias moves by compare-and-swap, each recorded in the history exactly once.

A model's aliases live in one object, `<model>/aliases.json`, together with a revision
number, each alias's lineage (the versions it pointed to, for `rollback`) and the event
of the last move. A move reads that object, checks the alias still points where the
mover expects, and writes the next revision conditionally on the tag it read
(If-Match; a local folder compares under a lock). Of two racing movers, the store
accepts exactly one write; the other finds the tag changed, re-reads, sees its alias
moved and raises `Conflict`. (A change to another alias of the model is retried.)

Exactly once in the history, on a store that cannot append: the alias object carries
the event of its own revision, and the history entry is created under the event's key
with If-None-Match after the move. A mover that dies between the two writes leaves the
event in the alias object; every mover first re-creates the entry of the revision it
read (a no-op when present) before it may write the next revision, and its write only
succeeds if that revision is still current. So no revision can be replaced before its
event is in the history, and a key can be created only once. History keys of moves
increase with the revision whatever the writers' clocks say.

An alias's rollout (its canary and shadow, `rollouts`) is kept in the same object and
changed by the same moves, so it is compare-and-swapped and recorded like them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any

from export.errors import Conflict, ExportError
from export.registry import layout
from export.registry.rollouts import Plan, Rollout, Step
from export.registry.storage import NOT_MODIFIED, Precondition, Storage, Tagged
from export.registry.streams import Stream, new_key, now

FORMAT = 2
#: Versions kept per alias for rollback.
LINEAGE = 50
#: Moves retried when only other aliases of the model changed meanwhile.
ATTEMPTS = 20


class Unset(Enum):
    """`expect` not given: the move expects what it read first."""

    UNSET = "unset"


UNSET = Unset.UNSET
Expect = str | None | Unset


@dataclass(frozen=True)
class AliasState:
    """One revision of a model's aliases, and the tag it was read with (None: no object)."""

    revision: int = 0
    aliases: dict[str, str] = field(default_factory=dict)
    lineage: dict[str, list[str]] = field(default_factory=dict)
    last: dict[str, Any] | None = None
    tag: str | None = None
    legacy: bool = False
    rollouts: dict[str, Rollout] = field(default_factory=dict)

    @classmethod
    def parse(cls, data: bytes, tag: str) -> AliasState:
        try:
            parsed = json.loads(data)
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            raise ExportError(f"aliases object is not JSON: {err}") from err
        if not isinstance(parsed, dict):
            raise ExportError("aliases object is not a JSON object")
        if parsed.get("format") != FORMAT:  # {"production": "3"}: the first layout
            aliases = {str(k): str(v) for k, v in parsed.items()}
            return cls(0, aliases, {a: [v] for a, v in aliases.items()}, None, tag, legacy=True)
        return cls(
            revision=int(parsed["revision"]),
            aliases={str(k): str(v) for k, v in parsed["aliases"].items()},
            lineage={str(k): [str(v) for v in vs] for k, vs in parsed["lineage"].items()},
            last=parsed.get("last"),
            tag=tag,
            rollouts={
                str(k): Rollout.from_dict(v) for k, v in (parsed.get("rollouts") or {}).items()
            },
        )

    def to_bytes(self) -> bytes:
        body = {
            "format": FORMAT,
            "revision": self.revision,
            "aliases": dict(sorted(self.aliases.items())),
            "lineage": dict(sorted(self.lineage.items())),
            "last": self.last,
        }
        if self.rollouts:  # written only when there is one: older readers see what they knew
            body["rollouts"] = {a: r.to_dict() for a, r in sorted(self.rollouts.items())}
        return (json.dumps(body, indent=2, sort_keys=True) + "\n").encode()

    def moved(self, alias: str, step: Step, event: dict[str, Any]) -> AliasState:
        """The next revision, with `alias` at `step.version`, its rollout `step.rollout`
        and `event` as its last move."""
        version = step.version
        lineage = list(self.lineage.get(alias, []))
        if event["event"] == "rollback":
            lineage.pop()
        elif not lineage or lineage[-1] != version:
            lineage.append(version)
        revision = self.revision + 1
        after = self.last.get("key") if self.last else None
        last = {**event, "revision": revision, "key": new_key(f"r{revision:08d}", after)}
        rollouts = {a: r for a, r in self.rollouts.items() if a != alias}
        if step.rollout is not None and not step.rollout.empty:
            rollouts[alias] = step.rollout
        return replace(
            self,
            revision=revision,
            aliases={**self.aliases, alias: version},
            lineage={**self.lineage, alias: lineage[-LINEAGE:]},
            last=last,
            legacy=False,
            rollouts=rollouts,
        )


class Aliases:
    """The aliases of model `model`, moved only by compare-and-swap."""

    def __init__(self, storage: Storage, model: str, history: Stream) -> None:
        self.storage, self.model, self.history = storage, model, history
        self.key = layout.aliases(model)

    def read(self) -> AliasState:
        return self._parsed(self.storage.read(self.key))

    def read_if_changed(self, previous: AliasState | None) -> AliasState:
        """The state now; `previous` itself when the object still has its tag (on S3 a
        conditional GET answered 304, a few hundred bytes)."""
        if previous is None or previous.tag is None:
            return self.read()
        found = self.storage.read_if_changed(self.key, previous.tag)
        return previous if found is NOT_MODIFIED else self._parsed(found)

    def _parsed(self, found: Tagged | None) -> AliasState:
        if found is None:
            return AliasState()
        try:
            return AliasState.parse(found.data, found.tag)
        except (ExportError, KeyError, TypeError, ValueError) as err:
            raise ExportError(f"{self.storage.describe(self.key)}: unreadable ({err})") from err

    def move(
        self,
        alias: str,
        plan: Plan,
        expect: Expect = UNSET,
        fields: dict[str, Any] | None = None,
    ) -> tuple[str | None, dict[str, Any]]:
        """Move `alias` to the version `plan` picks; return (previous version, event).

        Raises `Conflict` when the alias does not point at `expect` (default: what it
        pointed at when the move began), before or during the move."""
        wanted = expect
        for _ in range(ATTEMPTS):
            state = self._writable(self.read())
            self.settle(state)
            current = state.aliases.get(alias)
            if wanted is UNSET:
                wanted = current
            if current != wanted:
                raise self._conflict(alias, wanted, current)
            try:
                step = plan(state, alias)
            except ExportError as err:
                raise ExportError(f"model {self.model!r}: {err}") from None
            event = {
                **(fields or {}),
                **step.details,
                "event": step.event,
                "alias": alias,
                "version": step.version,
                "previous": current,
            }
            nxt = state.moved(alias, step, event)
            try:
                self._write(nxt, state.tag)
            except Precondition:
                continue  # the object changed: re-read, and re-check this alias
            self.settle(nxt)
            assert nxt.last is not None
            return current, nxt.last
        raise Conflict(
            f"model {self.model!r}: gave up moving alias {alias!r} after {ATTEMPTS} attempts; "
            "its aliases keep changing"
        )

    def settle(self, state: AliasState) -> None:
        """Make sure the history holds the event of `state`'s revision (exactly once)."""
        if state.last and state.last.get("key"):
            self.history.append(state.last, key=str(state.last["key"]))

    def pending(self, state: AliasState, keys: set[str]) -> dict[str, Any] | None:
        """The event of `state` if its writer died before it reached the history."""
        last = state.last
        return last if last and last.get("key") and last["key"] not in keys else None

    def _write(self, state: AliasState, tag: str | None) -> None:
        if tag is None:
            self.storage.create(self.key, state.to_bytes())
        else:
            self.storage.replace(self.key, state.to_bytes(), tag)

    def _writable(self, state: AliasState) -> AliasState:
        """A first-layout state with the lineage its legacy history implies."""
        if not state.legacy:
            return state
        events = self.history._legacy()
        lineage = {a: alias_lineage(events, a) or [v] for a, v in state.aliases.items()}
        return replace(state, lineage=lineage)

    def _conflict(self, alias: str, expected: Expect, found: str | None) -> Conflict:
        return Conflict(
            f"model {self.model!r}: alias {alias!r} points at {found or 'nothing'}, not "
            f"{expected or 'nothing'}; someone moved it meanwhile (nothing was changed; "
            f"re-read and retry with --expect {found or '-'})",
            expected=expected,
            found=found,
        )


def promote_to(version: str) -> Plan:
    """A plan moving the alias to `version` (which ends its rollout)."""
    return lambda state, alias: Step(version, "promote", None, _ended(state, alias))


def roll_back(state: AliasState, alias: str) -> Step:
    """A plan moving the alias back to the version before its last move (which ends
    its rollout)."""
    lineage = state.lineage.get(alias, [])
    if len(lineage) < 2 or lineage[-1] != state.aliases.get(alias):
        raise ExportError(f"alias {alias!r} has no earlier version to roll back to")
    return Step(lineage[-2], "rollback", None, _ended(state, alias))


def _ended(state: AliasState, alias: str) -> dict[str, Any]:
    """The event's record of the rollout a move of the alias ends, if it had one."""
    rollout = state.rollouts.get(alias)
    return {"ended": rollout.to_dict()} if rollout is not None and not rollout.empty else {}


def alias_lineage(history: list[dict[str, Any]], alias: str) -> list[str]:
    """The versions `alias` has pointed to, oldest first, with rolled-back moves undone."""
    stack: list[str] = []
    for event in history:
        if event.get("alias") != alias:
            continue
        if event.get("event") == "promote" and (not stack or stack[-1] != event["version"]):
            stack.append(event["version"])
        elif event.get("event") == "rollback" and stack:
            stack.pop()
    return stack


__all__ = ["UNSET", "AliasState", "Aliases", "Expect", "alias_lineage", "now"]
