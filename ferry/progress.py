"""A rich progress bar counting rows, with rows/s."""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text


class RowsPerSecond(ProgressColumn):
    """The task's recent speed in rows/s."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("-- rows/s" if speed is None else f"{speed:,.0f} rows/s")


class RowProgress:
    """Implements `service.scoring.job.Progress` on a rich progress bar."""

    def __init__(self, console: Console, description: str) -> None:
        self._bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("rows"),
            RowsPerSecond(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=False,
        )
        self._description = description
        self._task: TaskID | None = None

    def start(self, total: int | None, done: int) -> None:
        """Show the bar; `done` rows were finished by an earlier, interrupted run."""
        self._task = self._bar.add_task(self._description, total=total, completed=done)

    def advance(self, rows: int) -> None:
        """Count `rows` more rows."""
        if self._task is not None:
            self._bar.advance(self._task, rows)

    def __enter__(self) -> RowProgress:
        self._bar.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._bar.stop()
