"""Model references: `name`, `name:version`, `name@alias`."""

from __future__ import annotations

import re
from dataclasses import dataclass

from export.errors import InvalidReference

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


@dataclass(frozen=True)
class Reference:
    """A parsed reference; at most one of `version` and `alias` is set."""

    name: str
    version: str | None = None
    alias: str | None = None

    @classmethod
    def parse(cls, text: str) -> Reference:
        name, sep_v, version = text.partition(":")
        if sep_v:
            return cls(check_name(name, text), check_name(version, text))
        name, sep_a, alias = text.partition("@")
        if sep_a:
            return cls(check_name(name, text), alias=check_name(alias, text))
        return cls(check_name(name, text))

    def __str__(self) -> str:
        if self.version:
            return f"{self.name}:{self.version}"
        if self.alias:
            return f"{self.name}@{self.alias}"
        return self.name


def check_name(part: str, text: str | None = None) -> str:
    """Return `part` if it is a safe path component, else raise `InvalidReference`."""
    if not NAME.match(part) or part.startswith("."):
        whole = f" in {text!r}" if text is not None else ""
        raise InvalidReference(
            f"invalid name {part!r}{whole}: use letters, digits, '_', '.', '-' "
            "(expected name, name:version or name@alias)"
        )
    return part
