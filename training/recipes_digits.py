"""The `digits` recipe: a small CNN on scikit-learn's bundled 8x8 digit images."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch

from export.signature import Signature, TensorSpec
from training.errors import DataError
from training.evaluation import evaluation
from training.images import fingerprint, load_digits
from training.loop import TrainConfig, fit, predict_proba
from training.metrics import classification_metrics
from training.models.digits import DigitsCNN, DigitsConfig
from training.split import stratified_split
from training.trained import Trained

#: Intra-op threads while training. A batch of 32 8x8 images is too small to split: on 2
#: busy cores a second thread made an epoch 3-10x slower (0.8-2.9 s against 0.25 s), and
#: the thread count changes the float sums, so pinning it also keeps a seed's result the
#: same on machines with more cores.
THREADS = 1


def train_digits(
    data: Path | None,
    target: str | None,
    train_config: TrainConfig | None = None,
    *,
    progress: bool = True,
) -> Trained:
    """Train the digits CNN on the bundled digits; the graph takes raw pixels (0..16)."""
    if data is not None or target is not None:
        raise DataError(
            "the digits recipe trains on scikit-learn's bundled digits only; "
            f"it takes no data file or target (got {data}, {target!r})"
        )
    config = train_config or TrainConfig()
    images = load_digits()
    splits = stratified_split(images, config.seed)
    torch.manual_seed(config.seed)  # weight initialisation
    size = int(images.X.shape[-1])
    model_config = DigitsConfig(image_size=size, n_classes=len(images.labels))
    module = DigitsCNN(model_config)
    module.scale.fit(splits.X_train)
    with _threads(THREADS):
        result = fit(module, splits, config, progress=progress)
        proba = predict_proba(module, splits.X_test)
    metrics = classification_metrics(splits.y_test, proba)
    return Trained(
        module=module,
        signature=Signature(
            inputs=(TensorSpec("images", "float32", (-1, 1, size, size)),),
            outputs=(TensorSpec("probabilities", "float32", (-1, model_config.n_classes)),),
        ),
        sample_inputs={"images": np.ascontiguousarray(splits.X_test, dtype=np.float32)},
        labels=images.labels,
        features=[],  # one image tensor, not named scalar columns
        metrics=metrics,
        data_fingerprint=fingerprint(images),
        task="classification",
        preprocessing={"pixel_scale": module.scale.describe(), "in_graph": True},
        training={
            **config.to_dict(),
            "epochs_run": result.epochs,
            "best_epoch": result.best_epoch,
            "best_val_loss": result.best_val_loss,
            "rows": splits.rows(),
            "source": images.source,
            "threads": THREADS,
        },
        kind="digits",
        config=model_config.to_dict(),
        evaluation=evaluation(result.learning_curve, splits.y_test, proba, images.labels),
        reference_inputs={"images": np.ascontiguousarray(splits.X_train, dtype=np.float32)},
    )


@contextmanager
def _threads(count: int) -> Iterator[None]:
    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)
