"""`ferry models copy` checks the alias before it copies anything."""

from __future__ import annotations

from pathlib import Path

import pytest

from export.errors import InvalidReference
from export.registry import Registry
from export.transfer import copy_version
from tests.support.onnx_models import publish_linear


@pytest.mark.parametrize("alias", ["a/b", "../x", ".hidden", ""])
def test_a_bad_alias_is_refused_before_the_copy(tmp_path: Path, alias: str) -> None:
    source = Registry(tmp_path / "source")
    publish_linear(source)
    target = Registry(tmp_path / "target")
    if not alias:  # no alias: a plain copy, nothing promoted
        copy_version(source, "tabular", target, alias)
        assert target.versions("tabular") == ["1"] and target.aliases("tabular") == {}
        return
    with pytest.raises(InvalidReference, match="invalid name"):
        copy_version(source, "tabular", target, alias)
    assert not target.root.exists() or not any(target.root.rglob("*"))
