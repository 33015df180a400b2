"""Ask the kernel to fetch the next stretch of an input file while the current one is scored.

A batch job reads its input once, usually cold from disk. The Parquet reader asks
for one column chunk at a time and waits for each; fetching ahead with
`posix_fadvise(WILLNEED)` lets the disk work while the CPU decodes and scores.
The window is bounded so that a large file never floods the page cache.
"""

from __future__ import annotations

import os
from pathlib import Path

from service.scoring.closing import ClosedOnExit

WINDOW = 64 << 20  # bytes fetched ahead of the reader
# Linux fetches at most the device's readahead size (often far less than the window)
# per call, and ignores the rest of the range: ask in steps.
STEP = 1 << 20


class Readahead(ClosedOnExit):
    """Keeps the `WINDOW` bytes after the reader's position on their way into memory."""

    def __init__(self, path: Path) -> None:
        self._fd = os.open(path, os.O_RDONLY)
        self._size = os.fstat(self._fd).st_size
        self._asked = 0

    def reached(self, fraction: float) -> None:
        """The reader is `fraction` of the way through the file: fetch the window after it."""
        end = min(self._size, int(fraction * self._size) + WINDOW)
        while self._asked < end and hasattr(os, "posix_fadvise"):
            size = min(STEP, end - self._asked)
            os.posix_fadvise(self._fd, self._asked, size, os.POSIX_FADV_WILLNEED)
            self._asked += size

    def close(self) -> None:
        """Release the file."""
        os.close(self._fd)
