"""Training recipes: each model registers how it is trained and what it publishes.

A recipe turns data into a `Trained` bundle that export and the registry can use
without knowing the model: the module, its signature, held-out rows for parity,
and the facts the manifest records. The recipes themselves live in
`recipes_<name>.py`; this module is their registry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from training.errors import UnknownRecipe
from training.recipes_digits import train_digits
from training.recipes_tabular import train_tabular
from training.trained import Trained

__all__ = [
    "RECIPES",
    "Recipe",
    "TrainFn",
    "Trained",
    "get_recipe",
    "register",
    "train_digits",
    "train_tabular",
]

TrainFn = Callable[..., Trained]


@dataclass(frozen=True)
class Recipe:
    """A named way to train a model: `train(data, target, train_config, progress=...)`."""

    name: str
    train: TrainFn
    description: str = ""


RECIPES: dict[str, Recipe] = {}


def register(recipe: Recipe) -> Recipe:
    """Make `recipe` available by name; a later registration of the same name replaces it."""
    RECIPES[recipe.name] = recipe
    return recipe


def get_recipe(name: str) -> Recipe:
    """The recipe called `name`, or `UnknownRecipe` listing the known names."""
    try:
        return RECIPES[name]
    except KeyError:
        known = ", ".join(sorted(RECIPES)) or "none"
        raise UnknownRecipe(f"unknown recipe {name!r} (known: {known})") from None


register(
    Recipe(
        "tabular",
        train_tabular,
        "MLP with in-graph standardisation; breast cancer, or a CSV/Parquet file with a target",
    )
)
register(
    Recipe(
        "digits",
        train_digits,
        "CNN on scikit-learn's 8x8 digits; the graph takes raw pixels 0..16",
    )
)
