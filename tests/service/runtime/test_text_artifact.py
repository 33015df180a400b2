"""The tokenizer travels with the artifact: a modified one is refused, the old version serves on."""

from __future__ import annotations

import pytest

from export.registry import Registry
from service.runtime import ModelRuntime
from service.runtime.errors import ModelLoadError
from service.runtime.settings import RuntimeSettings
from service.serving.refresh import Refresher
from tests.support.text_models import TOKENIZER_FILE, publish_text, text_model_set


def tamper(path: str) -> None:
    with open(path, "a") as handle:
        handle.write(" ")  # still a valid tokenizer file: only the sha256 can tell


def test_a_tampered_tokenizer_is_refused_at_load(registry: Registry) -> None:
    artifact = publish_text(registry)
    tamper(str(artifact.path / TOKENIZER_FILE))
    with pytest.raises(ModelLoadError, match=r"sha256 of 'tokenizer\.json'"):
        ModelRuntime.load(artifact, RuntimeSettings(providers=["CPUExecutionProvider"]))
    models = text_model_set(registry)
    assert not models.ready() and "tokenizer.json" in models.errors["text-embed"]


async def test_a_tampered_tokenizer_in_a_new_version_leaves_the_old_one_serving(
    registry: Registry,
) -> None:
    publish_text(registry, seed=0)
    models = text_model_set(registry)
    before = await models.get("text-embed").infer_texts(["the sun"])
    new = publish_text(registry, seed=1)  # published and promoted
    tamper(str(new.path / TOKENIZER_FILE))
    [result] = await Refresher(models).refresh()
    assert result.new == "2" and result.error and "sha256 of 'tokenizer.json'" in result.error
    served = models.get("text-embed")
    assert served.runtime.version == "1"
    after = await served.infer_texts(["the sun"])
    assert (after["embedding"] == before["embedding"]).all()
    await models.close()


def test_status_names_a_variant_version(registry: Registry) -> None:
    publish_text(registry, variant={"precision": "int8", "source_version": "1"})
    about = text_model_set(registry).status()["models"]["text-embed"]  # type: ignore[index]
    assert about["variant"]["precision"] == "int8" and about["max_length"] == 128
