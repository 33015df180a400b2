"""Resources of the batch job that close themselves at the end of a `with` block."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Self


class ClosedOnExit(ABC):
    """`with Resource(...) as r:` calls `r.close()` on the way out, error or not."""

    @abstractmethod
    def close(self) -> None:
        """Release what the resource holds."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
