"""The checks that keep a job from writing over what it reads, or one output over another.

`--output` equal to `--input` replaced the input with scores; `--output` equal to
`--rejects` kept the rejects and lost the scores while the summary said both were
written. Every path is compared resolved (symbolic links followed, `..` removed),
and as the same file when both exist (a hard link), before anything is written.
"""

from __future__ import annotations

import os
from pathlib import Path

from service.scoring.errors import PathConflict


def check_paths(input_path: Path, output: Path, rejects: Path) -> None:
    """Raise `PathConflict` if the job would write over its input or mix its outputs."""
    for flag, path in (("--output", output), ("--rejects", rejects)):
        if _same(path, input_path):
            raise PathConflict(f"{flag} {path} is the input {input_path}: it would be overwritten")
        if input_path.is_dir() and _inside(path, input_path):
            raise PathConflict(
                f"{flag} {path} is inside the input folder {input_path}: a later run would "
                "read it as input; write it elsewhere"
            )
    if _same(output, rejects):
        raise PathConflict(
            f"--output and --rejects are the same file ({output}): the rejects would replace "
            "the scores; give --rejects another path"
        )


def _same(a: Path, b: Path) -> bool:
    if a.exists() and b.exists():
        return os.path.samefile(a, b)
    return a.resolve() == b.resolve()


def _inside(path: Path, folder: Path) -> bool:
    return path.resolve().is_relative_to(folder.resolve())
