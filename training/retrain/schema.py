"""What a challenger must match: the champion's recipe, base data, columns and classes."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from export.registry import PRODUCTION, Registry
from training.data import BUNDLED, Table, load_table, read_frame, table_from_frame
from training.errors import RetrainError

#: The target column of drops for a model trained on bundled data.
BUNDLED_TARGET = "target"
#: The data a recipe trains on when given no file.
RECIPE_DATA = {"tabular": "sklearn:breast_cancer"}


@dataclass(frozen=True)
class Schema:
    """The facts a retrain takes from the template version (the champion, else the latest)."""

    recipe: str
    source: str  # a BUNDLED name or the path of the user's file
    target: str
    features: list[str]
    labels: list[str]
    training: dict[str, Any] = field(default_factory=dict)  # the template's training record
    seen: frozenset[str] = frozenset()  # sha256 of the drops the template trained on
    version: str | None = None


def schema_of(
    registry: Registry,
    name: str,
    *,
    recipe: str | None = None,
    target: str | None = None,
    base: Path | None = None,
) -> Schema:
    """The schema of model `name`; for a model with no version yet, of `recipe`'s data."""
    from training.recipes import RECIPES, get_recipe  # torch: only when a schema is needed

    versions = registry.versions(name)
    if not versions:
        return _new_model(name, recipe, target, base)
    production = registry.aliases(name).get(PRODUCTION)
    version = production if production in versions else versions[-1]
    manifest = registry.manifest(name, version)
    training = dict(manifest.training)
    recipe = recipe or training.get("recipe") or (name if name in RECIPES else None)
    if recipe is None:
        raise RetrainError(
            f"{name}:{version} does not record its training recipe; pass --recipe "
            f"(known: {', '.join(sorted(RECIPES))})"
        )
    get_recipe(recipe)
    source = str(base) if base is not None else str(training.get("source", ""))
    if source.startswith("sklearn:") and source not in BUNDLED:
        raise RetrainError(
            f"{name}:{version} was trained on {source}, which the retraining job cannot extend "
            "with table drops; pass --base FILE --target COLUMN to retrain it on a table"
        )
    target = target or training.get("target") or (BUNDLED_TARGET if source in BUNDLED else None)
    if not source or target is None:
        raise RetrainError(
            f"{name}:{version} does not record its training data and target column; "
            "pass --base FILE and --target COLUMN"
        )
    drops = training.get("drops", [])
    return Schema(
        recipe=recipe,
        source=source,
        target=str(target),
        features=list(manifest.features),
        labels=list(manifest.labels),
        training=training,
        seen=frozenset(str(d["sha256"]) for d in drops if isinstance(d, dict) and "sha256" in d),
        version=version,
    )


def load_base(schema: Schema) -> Table:
    """The data the champion was trained on, encoded with the schema's columns and classes."""
    loader = BUNDLED.get(schema.source)
    if loader is not None:
        return _conform(loader(), schema)
    path = Path(schema.source)
    if not path.is_file():
        raise RetrainError(
            f"the base data {schema.source} (what the model was trained on) is not there; "
            "pass --base FILE"
        )
    frame = read_frame(path)
    return table_from_frame(
        frame, schema.target, schema.source, features=schema.features, labels=schema.labels
    )


def _new_model(name: str, recipe: str | None, target: str | None, base: Path | None) -> Schema:
    from training.recipes import get_recipe

    recipe = recipe or name
    get_recipe(recipe)
    if base is not None:
        if target is None:
            raise RetrainError(f"{base}: name the target column with --target")
        table = load_table(base, target)
    else:
        source = RECIPE_DATA.get(recipe)
        if source is None:
            raise RetrainError(f"recipe {recipe!r} has no bundled data; pass --base and --target")
        table, target = BUNDLED[source](), BUNDLED_TARGET
    return Schema(recipe, table.source, target, table.feature_names, table.labels)


def _conform(table: Table, schema: Schema) -> Table:
    if table.feature_names != schema.features or sorted(table.labels) != sorted(schema.labels):
        raise RetrainError(
            f"the bundled data {schema.source} no longer has the model's features and classes"
        )
    order = np.array([schema.labels.index(label) for label in table.labels], dtype=np.int64)
    return Table(table.X, order[table.y], schema.features, schema.labels, table.source)
