"""Training recipes: each model registers how it is trained and what it publishes.

A recipe turns data into a `Trained` bundle that export and the registry can use
without knowing the model: the module, its signature, held-out rows for parity,
and the facts the manifest records. The recipes themselves live in
`recipes_<name>.py`; this module is their registry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from training.errors import DataError, UnknownRecipe
from training.loop import TrainConfig
from training.recipes_digits import train_digits
from training.recipes_tabular import train_tabular
from training.recipes_text import TEXT_CLASSIFY_OPTIONS, train_text_classify, train_text_embed
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
    "train_text_classify",
    "train_text_embed",
]

TrainFn = Callable[..., Trained]


@dataclass(frozen=True)
class Recipe:
    """A named way to train a model: `train(data, target, train_config, progress=...)`.

    `options` names the recipe's own keyword settings beyond those (e.g. `text_col`)."""

    name: str
    train: TrainFn
    description: str = ""
    options: tuple[str, ...] = ()

    def run(
        self,
        data: Path | None,
        target: str | None,
        train_config: TrainConfig | None = None,
        *,
        progress: bool = True,
        **options: Any,
    ) -> Trained:
        """`train` with `options` checked against the ones this recipe takes."""
        unknown = sorted(set(options) - set(self.options))
        if unknown:
            takes = ", ".join(self.options) or "none"
            raise DataError(
                f"recipe {self.name!r} takes no option {', '.join(unknown)} (its options: {takes})"
            )
        return self.train(data, target, train_config, progress=progress, **options)


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
register(
    Recipe(
        "text-embed",
        train_text_embed,
        "all-MiniLM-L6-v2 sentence encoder: token ids in, L2-normalised 384-d embedding out",
    )
)
register(
    Recipe(
        "text-classify",
        train_text_classify,
        "text classifier on all-MiniLM-L6-v2 (head on the frozen encoder, or fine-tuned); "
        "support tickets, or a CSV with a text and a label column",
        options=TEXT_CLASSIFY_OPTIONS,
    )
)
