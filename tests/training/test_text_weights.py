"""The pretrained files are checked by sha256 before use; a modified one is refused by name."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from training.text.weights import EXPECTED_SHA256, WeightsError, package_dir, verified_dir


def _copy(tmp_path: Path) -> Path:
    """The package's model folder as links, so one file can be replaced without 90 MB copies."""
    folder = tmp_path / "model"
    folder.mkdir()
    for name in EXPECTED_SHA256:
        (folder / name).symlink_to(package_dir() / name)
    return folder


def test_the_installed_package_matches_the_pinned_revision() -> None:
    assert verified_dir() == package_dir()


@pytest.mark.parametrize("name", sorted(EXPECTED_SHA256))
def test_a_tampered_file_is_refused_naming_it_and_both_hashes(tmp_path: Path, name: str) -> None:
    folder = _copy(tmp_path)
    (folder / name).unlink()
    (folder / name).write_bytes(b"tampered")
    tampered = hashlib.sha256(b"tampered").hexdigest()
    with pytest.raises(WeightsError) as caught:
        verified_dir(folder)
    message = str(caught.value)
    assert str(folder / name) in message
    assert f"has sha256 {tampered}, expected {EXPECTED_SHA256[name]}" in message
    assert "refusing" in message


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    (folder / "config.json").unlink()
    with pytest.raises(WeightsError, match=r"config\.json is missing"):
        verified_dir(folder)
