"""The code revision an artifact was made by (torch-free, for every kind of publish)."""

from __future__ import annotations

import subprocess
from pathlib import Path


def code_revision() -> str:
    """The git commit of the code doing the export, or "unknown" outside a git checkout."""
    try:
        result = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return result.stdout.strip() or "unknown"
