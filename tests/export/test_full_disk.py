"""A full disk while publishing or copying a version: a clear error, nothing visible.

The registry sits on a small tmpfs mounted for the test (mounting needs root, as the
test machines run; elsewhere the fixture fails and says so).
"""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from export.registry import Registry
from tests.support.onnx_models import publish_image


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 1 MiB tmpfs, unmounted afterwards."""
    mount = tmp_path / "disk"
    mount.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
    )
    assert mounted.returncode == 0, (
        f"mounting a tmpfs needs root (uid {os.getuid()}): {mounted.stderr}"
    )
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=True)


def visible(root: Path) -> list[str]:
    """What a reader of the registry could see: every entry not hidden (no dot files)."""
    return sorted(
        str(p.relative_to(root))
        for p in root.rglob("*")
        if not any(part.startswith(".") for part in p.relative_to(root).parts)
    )


@pytest.mark.slow
def test_a_publish_that_fills_the_disk_fails_clearly_and_leaves_nothing(
    small_disk: Path, tabular_trained: object
) -> None:
    from export.publish import publish

    trained = tabular_trained
    registry = Registry(small_disk / "registry")
    with pytest.raises(OSError) as caught:
        publish(
            registry,
            "tabular",
            trained.module,  # type: ignore[attr-defined]
            trained.signature,  # type: ignore[attr-defined]
            trained.sample_inputs,  # type: ignore[attr-defined]
            labels=trained.labels,  # type: ignore[attr-defined]
            features=trained.features,  # type: ignore[attr-defined]
            metrics=trained.metrics,  # type: ignore[attr-defined]
            data_fingerprint=trained.data_fingerprint,  # type: ignore[attr-defined]
            task=trained.task,  # type: ignore[attr-defined]
            preprocessing=trained.preprocessing,  # type: ignore[attr-defined]
            training=trained.training,  # type: ignore[attr-defined]
            files={"vocabulary.bin": b"\0" * (2 << 20)},  # more than the disk holds
        )
    assert caught.value.errno == errno.ENOSPC
    assert registry.versions("tabular") == []
    assert visible(registry.root) in ([], ["tabular"])  # at most the model's empty folder


def test_a_copy_onto_a_full_disk_exits_9_with_one_line_and_leaves_nothing(
    small_disk: Path, tmp_path: Path
) -> None:
    source = Registry(tmp_path / "source")
    publish_image(source, "digits", size=256)  # a 2.6 MB graph
    target = small_disk / "baked"
    result = subprocess.run(
        [sys.executable, "-m", "ferry", "models", "copy", "digits", "--to", str(target),
         "--registry", str(source.root)],
        capture_output=True,
        text=True,
        timeout=120,
    )  # fmt: skip
    assert result.returncode == 9, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "No space left on device" in lines[0], result.stderr
    assert "Traceback" not in result.stderr
    assert Registry(target).versions("digits") == []
    assert visible(target) in ([], ["digits"])
