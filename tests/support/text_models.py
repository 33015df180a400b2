"""Tiny real text models (no torch): a WordPiece tokenizer and ONNX graphs built with onnx.helper.

The encoder mirrors the real one's interface and pooling: token embeddings
(Gather) -> attention-masked mean over the sequence -> L2 normalisation; the
classifier adds a linear + softmax head. `projected` puts a square linear layer
(a MatMul, which int8 quantisation rewrites) between the pooling and the norm.
Published like any artifact, with the tokenizer file in `manifest.files` and
`preprocessing["tokenizer"]`.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

from export.drift import build_reference
from export.manifest import MODEL_FILE, Manifest, Parity, sha256_file
from export.registry import Artifact, Registry
from export.signature import Signature, TensorSpec
from service.runtime.settings import RuntimeSettings
from service.runtime.text.settings import TextSettings
from service.serving.models import ModelSet
from service.serving.settings import BatchSettings, RegistrySettings

TOKENIZER_FILE = "tokenizer.json"
SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
# one word a string would be 48 lines; a vocabulary reads better as prose
WORDS = (  # noqa: SIM905
    "the a an of to and in is it for on with as at by from this that be are was were "
    "model service text batch token length short long sentence word serve fast slow "
    "good bad happy sad news sport weather rain sun ball game team score"
).split()
LABELS = ["news", "sport", "weather"]
DIM = 16


def vocabulary() -> list[str]:
    """Special tokens, whole words, then single characters and their ## continuations."""
    chars = list(string.ascii_lowercase + string.digits + string.punctuation)
    tokens = [*SPECIAL, *WORDS, *chars, *(f"##{c}" for c in string.ascii_lowercase + string.digits)]
    return list(dict.fromkeys(tokens))  # "a" is a word and a character: one id


def build_tokenizer(path: Path, fixed_length: int = 128) -> Tokenizer:
    """A BERT-style WordPiece tokenizer, saved the way exporters save one (fixed padding on)."""
    vocab = {token: i for i, token in enumerate(vocabulary())}
    tokenizer = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]", max_input_chars_per_word=100))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.post_processor = processors.BertProcessing(
        ("[SEP]", vocab["[SEP]"]), ("[CLS]", vocab["[CLS]"])
    )
    tokenizer.decoder = decoders.WordPiece()
    # like all-MiniLM-L6-v2's tokenizer.json: the service must not pad to this length
    tokenizer.enable_padding(length=fixed_length, pad_id=0, pad_token="[PAD]")
    tokenizer.enable_truncation(fixed_length)
    tokenizer.save(str(path))
    return tokenizer


@dataclass(frozen=True)
class TextWeights:
    table: np.ndarray  # [vocab, dim]
    head: np.ndarray | None = None  # [dim, classes]
    bias: np.ndarray | None = None
    proj: np.ndarray | None = None  # [dim, dim], before the norm


def weights(dim: int, classes: int, seed: int, projected: bool = False) -> TextWeights:
    rng = np.random.default_rng(seed)
    table = rng.normal(size=(len(vocabulary()), dim)).astype(np.float32)
    if projected:
        proj = (rng.normal(size=(dim, dim)) / np.sqrt(dim)).astype(np.float32)
        return TextWeights(table, proj=proj)
    if not classes:
        return TextWeights(table)
    head = rng.normal(size=(dim, classes)).astype(np.float32)
    return TextWeights(table, head, rng.normal(size=(classes,)).astype(np.float32))


def text_graph(w: TextWeights) -> onnx.ModelProto:
    """input_ids, attention_mask [batch, seq] -> embedding [batch, dim] or probabilities."""
    dim = w.table.shape[1]
    nodes = [
        helper.make_node("Gather", ["table", "input_ids"], ["tokens"]),
        helper.make_node("Cast", ["attention_mask"], ["mask"], to=TensorProto.FLOAT),
        helper.make_node("Unsqueeze", ["mask", "last"], ["mask3"]),
        helper.make_node("Mul", ["tokens", "mask3"], ["masked"]),
        helper.make_node("ReduceSum", ["masked", "seq"], ["summed"], keepdims=0),
        helper.make_node("ReduceSum", ["mask", "seq"], ["count"], keepdims=1),
        helper.make_node("Max", ["count", "tiny"], ["count1"]),
        helper.make_node("Div", ["summed", "count1"], ["pooled" if w.proj is not None else "mean"]),
        *([helper.make_node("MatMul", ["pooled", "proj"], ["mean"])] if w.proj is not None else []),
        helper.make_node("ReduceL2", ["mean", "seq"], ["norm"], keepdims=1),
        helper.make_node("Max", ["norm", "tiny"], ["norm1"]),
        helper.make_node("Div", ["mean", "norm1"], ["embedding"]),
    ]
    init = [
        numpy_helper.from_array(w.table, "table"),
        numpy_helper.from_array(np.array([-1], dtype=np.int64), "last"),
        numpy_helper.from_array(np.array([1], dtype=np.int64), "seq"),
        numpy_helper.from_array(np.array(1e-9, dtype=np.float32), "tiny"),
    ]
    if w.proj is not None:
        init.append(numpy_helper.from_array(w.proj, "proj"))
    output = helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["batch", dim])
    if w.head is not None and w.bias is not None:
        nodes += [
            helper.make_node("MatMul", ["embedding", "head"], ["z0"]),
            helper.make_node("Add", ["z0", "bias"], ["z"]),
            helper.make_node("Softmax", ["z"], ["probabilities"], axis=-1),
        ]
        init += [numpy_helper.from_array(w.head, "head"), numpy_helper.from_array(w.bias, "bias")]
        output = helper.make_tensor_value_info(
            "probabilities", TensorProto.FLOAT, ["batch", w.head.shape[1]]
        )
    inputs = [
        helper.make_tensor_value_info(name, TensorProto.INT64, ["batch", "seq"])
        for name in ("input_ids", "attention_mask")
    ]
    graph = helper.make_graph(nodes, "tiny_text", inputs, [output], init)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 10
    onnx.checker.check_model(model, full_check=True)
    return model


def reference(ids: np.ndarray, mask: np.ndarray, w: TextWeights) -> np.ndarray:
    """What the graph computes, in numpy, for rows of token ids and their mask."""
    m = mask.astype(np.float32)[..., None]
    mean = (w.table[ids] * m).sum(axis=1) / np.maximum(m.sum(axis=1), 1e-9)
    if w.proj is not None:
        mean = mean @ w.proj
    emb = mean / np.maximum(np.linalg.norm(mean, axis=1, keepdims=True), 1e-9)
    if w.head is None or w.bias is None:
        return emb
    z = emb @ w.head + w.bias
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def expected(texts: list[str], artifact: Artifact, seed: int = 0) -> np.ndarray:
    """Reference outputs for `texts`, each tokenised alone (no padding at all)."""
    tokenizer = Tokenizer.from_file(str(artifact.path / TOKENIZER_FILE))
    tokenizer.no_padding()
    tokenizer.enable_truncation(artifact.manifest.preprocessing["tokenizer"]["max_length"])
    w = weights(DIM, len(artifact.manifest.labels), seed)
    rows = []
    for text in texts:
        ids = np.array([tokenizer.encode(text).ids])
        rows.append(reference(ids, np.ones_like(ids), w)[0])
    return np.stack(rows)


def publish_text(
    registry: Registry,
    name: str = "text-embed",
    classes: int = 0,
    seed: int = 0,
    max_length: int = 128,
    promote: bool = True,
    variant: dict[str, object] | None = None,
    drift_texts: list[str] | None = None,
    projected: bool = False,
) -> Artifact:
    """Publish a tiny encoder (`classes=0`, `projected`: with a linear layer) or classifier
    with its tokenizer, like the exporter; with `drift_texts`, reference statistics of them
    (and of the outputs) in the manifest."""
    if projected and classes:
        raise ValueError("a projected encoder has no classes")
    w = weights(DIM, classes, seed, projected)
    out = (
        TensorSpec("probabilities", "float32", (-1, classes))
        if classes
        else TensorSpec("embedding", "float32", (-1, DIM))
    )
    signature = Signature(
        (
            TensorSpec("input_ids", "int64", (-1, -1)),
            TensorSpec("attention_mask", "int64", (-1, -1)),
        ),
        (out,),
    )
    preprocessing = {
        "tokenizer": {
            "file": TOKENIZER_FILE,
            "max_length": max_length,
            "input_ids": "input_ids",
            "attention_mask": "attention_mask",
            "pad_id": 0,
        }
    }
    labels = LABELS[:classes] if classes else []
    with registry.draft(name) as draft:
        onnx.save(text_graph(w), draft.path / MODEL_FILE)
        tokenizer = build_tokenizer(draft.path / TOKENIZER_FILE)
        drift = {}
        if drift_texts is not None:
            drift = _reference(tokenizer, w, signature, labels, preprocessing, drift_texts)
        Manifest(
            name=name,
            version=draft.version,
            signature=signature,
            labels=labels,
            files={f: sha256_file(draft.path / f) for f in (MODEL_FILE, TOKENIZER_FILE)},
            parity=Parity(0.0, 1e-5, 0, True),
            created_at=datetime.now(UTC).isoformat(),
            opset=18,
            task="classification" if classes else "embedding",
            variant=variant or {},
            preprocessing=preprocessing,
            drift=drift,
        ).write(draft.path)
        version = draft.version
    if promote:
        registry.promote(name, version)
    return registry.get(f"{name}:{version}")


def encode_texts(tokenizer: Tokenizer, texts: list[str]) -> dict[str, np.ndarray]:
    """`input_ids` and `attention_mask` padded to the longest text, as the service pads."""
    tokenizer.no_padding()
    tokenizer.enable_truncation(128)
    tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
    encodings = tokenizer.encode_batch(texts)
    return {
        "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
        "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
    }


def _reference(
    tokenizer: Tokenizer,
    w: TextWeights,
    signature: Signature,
    labels: list[str],
    preprocessing: dict[str, object],
    texts: list[str],
) -> dict[str, object]:
    inputs = encode_texts(tokenizer, texts)
    outputs = reference(inputs["input_ids"], inputs["attention_mask"], w).astype(np.float32)
    name = signature.outputs[0].name
    built = build_reference(
        signature, inputs, {name: outputs}, labels=labels, preprocessing=preprocessing
    )
    return built.to_dict()


def text_model_set(registry: Registry, max_rows: int = 1024, **text: object) -> ModelSet:
    """A loaded `ModelSet` on the CPU over `registry`, with text settings overridden."""
    models = ModelSet(
        RegistrySettings(registry=registry.root),
        RuntimeSettings(providers=["CPUExecutionProvider"]),
        BatchSettings(max_rows_per_request=max_rows),
        text=TextSettings(**text),  # type: ignore[arg-type]
    )
    models.load_all()
    return models
