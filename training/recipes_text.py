"""The text recipes: `text-embed` (the pretrained sentence encoder) and `text-classify`.

Both publish graphs taking `input_ids` and `attention_mask` with dynamic batch and
sequence axes, and ship the tokenizer file with the artifact so the service can
tokenise without torch or transformers.
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from export.signature import Signature, TensorSpec
from export.texts import HELD_OUT_TEXTS
from training.checkpoint import BUILDERS
from training.errors import DataError
from training.evaluation import evaluation
from training.loop import FitResult, TrainConfig
from training.split import Splits, stratified_split
from training.text.classifier import TextClassifier, TextHead, build_classifier
from training.text.data import (
    LABEL_COL,
    TEXT_COL,
    TextTable,
    fingerprint,
    load_support_tickets,
    load_texts,
)
from training.text.encoder import EMBED_DIM, TextEncoder, build_encoder, load_encoder
from training.text.evaluate import text_metrics
from training.text.tokenizer import (
    ATTENTION_MASK,
    INPUT_IDS,
    TOKENIZER_FILE,
    encode,
    preprocessing,
    published_tokenizer,
    tokenizer_file,
)
from training.text.weights import EXPECTED_SHA256, PACKAGE, REVISION, verified_dir
from training.trained import Trained

KIND_TEXT_EMBED = "text-embed"
KIND_TEXT_CLASSIFY = "text-classify"
TEXT_CLASSIFY_OPTIONS = ("text_col", "finetune")
#: Random rows the parity check adds: each is a full-length pass through BERT in
#: PyTorch and in ONNX Runtime, ~0.1 s a row on 2 cores, against ~1 ms for the MLP.
PARITY_ROWS = 16

BUILDERS[KIND_TEXT_EMBED] = lambda config: build_encoder(config["bert"])
BUILDERS[KIND_TEXT_CLASSIFY] = build_classifier

INPUTS = (
    TensorSpec(INPUT_IDS, "int64", (-1, -1)),
    TensorSpec(ATTENTION_MASK, "int64", (-1, -1)),
)


def train_text_embed(
    data: Path | None,
    target: str | None,
    train_config: TrainConfig | None = None,
    *,
    progress: bool = True,
) -> Trained:
    """Wrap the pretrained encoder for publishing; its metrics are its agreement with
    sentence-transformers' own `encode` on `HELD_OUT_TEXTS` (PyTorch side; publishing then
    checks ONNX against this module)."""
    from training.text.embed import run_module
    from training.text.reference import agreement, parity_cosines, reference_embeddings

    if data is not None or target is not None:
        raise DataError(
            "text-embed publishes the pretrained encoder; it takes no data "
            f"(got {data}, {target!r})"
        )
    folder = verified_dir()
    encoder, bert_config = load_encoder(folder)
    tokenizer = published_tokenizer(folder)
    texts = list(HELD_OUT_TEXTS)
    ours = run_module(encoder, tokenizer, texts)
    reference = reference_embeddings(folder, texts)
    parity = agreement(reference, ours)
    return Trained(
        module=encoder,
        signature=Signature(INPUTS, (TensorSpec("embedding", "float32", (-1, EMBED_DIM)),)),
        sample_inputs=encode(tokenizer, texts),
        labels=[],
        features=[],
        metrics={f"st_{key}": value for key, value in parity.items()},
        data_fingerprint="",
        task="embedding",
        preprocessing=preprocessing(tokenizer),
        training={"weights": _weights(), "reference_texts": len(texts)},
        kind=KIND_TEXT_EMBED,
        config={"bert": bert_config},
        files={TOKENIZER_FILE: tokenizer_file(tokenizer)},
        parity_rows=PARITY_ROWS,
        evaluation={"parity_cosines": parity_cosines(reference, ours)},
    )


def train_text_classify(
    data: Path | None,
    target: str | None,
    train_config: TrainConfig | None = None,
    *,
    progress: bool = True,
    text_col: str | None = None,
    finetune: bool = False,
) -> Trained:
    """Train a classifier on the bundled support tickets or on `data` (`text_col`, and the
    label column `target`): a linear head on the frozen encoder (default), or with
    `finetune` the encoder and head together."""
    config = train_config or TrainConfig()
    table = _table(data, target, text_col)
    splits = stratified_split(table, config.seed)
    folder = verified_dir()
    encoder, bert_config = load_encoder(folder)
    tokenizer = published_tokenizer(folder)
    started = time.perf_counter()
    if finetune:
        module, result, settings = _fine_tuned(encoder, tokenizer, splits, table, config)
    else:
        module, result, settings = _frozen(encoder, tokenizer, splits, table, config, progress)
    seconds = time.perf_counter() - started
    test_texts = [str(t) for t in splits.X_test]
    from training.text.embed import run_module

    proba = run_module(module, tokenizer, test_texts)
    metrics = text_metrics(splits.y_test, proba)
    n_classes = len(table.labels)
    return Trained(
        module=module,
        signature=Signature(INPUTS, (TensorSpec("probabilities", "float32", (-1, n_classes)),)),
        sample_inputs=encode(tokenizer, test_texts),
        labels=table.labels,
        features=[],
        metrics=metrics,
        data_fingerprint=fingerprint(table),
        task="classification",
        preprocessing=preprocessing(tokenizer),
        training={
            **settings,
            "mode": "finetune" if finetune else "frozen",
            "epochs_run": result.epochs,
            "best_epoch": result.best_epoch,
            "best_val_loss": result.best_val_loss,
            "train_seconds": round(seconds, 2),
            "rows": splits.rows(),
            "source": table.source,
            "text_col": text_col or TEXT_COL,
            "label_col": target or LABEL_COL,
            "weights": _weights(),
        },
        kind=KIND_TEXT_CLASSIFY,
        config={"bert": bert_config, "n_classes": n_classes},
        files={TOKENIZER_FILE: tokenizer_file(tokenizer)},
        parity_rows=PARITY_ROWS,
        evaluation=evaluation(result.learning_curve, splits.y_test, proba, table.labels),
        reference_inputs=encode(tokenizer, [str(t) for t in splits.X_train]),
    )


def _frozen(
    encoder: TextEncoder,
    tokenizer: Any,
    splits: Splits,
    table: TextTable,
    config: TrainConfig,
    progress: bool,
) -> tuple[TextClassifier, FitResult, dict[str, Any]]:
    from training.text.head import embed_splits, train_head

    vectors = embed_splits(encoder, tokenizer, splits)
    head, result = train_head(vectors, len(table.labels), config, progress)
    return TextClassifier(encoder, head), result, config.to_dict()


def _fine_tuned(
    encoder: TextEncoder, tokenizer: Any, splits: Splits, table: TextTable, config: TrainConfig
) -> tuple[TextClassifier, FitResult, dict[str, Any]]:
    from training.text.finetune import FineTuneConfig, fine_tune

    settings = FineTuneConfig(seed=config.seed)
    if config.epochs != TrainConfig().epochs:  # --epochs given: it caps fine-tuning too
        settings = replace(settings, epochs=config.epochs)
    import torch

    torch.manual_seed(config.seed)  # head initialisation
    model = TextClassifier(encoder, TextHead(len(table.labels)))
    result = fine_tune(model, tokenizer, splits, settings)
    return model, result, settings.to_dict()


def _table(data: Path | None, target: str | None, text_col: str | None) -> TextTable:
    if data is None:
        if target is not None or text_col is not None:
            raise DataError("--label-col/--text-col given without a data file")
        return load_support_tickets()
    return load_texts(Path(data), text_col or TEXT_COL, target or LABEL_COL)


def _weights() -> dict[str, Any]:
    return {"package": PACKAGE, "revision": REVISION, "sha256": dict(EXPECTED_SHA256)}
