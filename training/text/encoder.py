"""The sentence encoder as one module: BERT, attention-masked mean pooling, L2 normalisation.

It takes exactly what the service feeds (`input_ids`, `attention_mask`) and makes
the all-zero `token_type_ids` itself, so they are not a graph input.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

EMBED_DIM = 384
#: Keeps the mean finite for a row with no attended token (sentence-transformers uses 1e-9).
MIN_TOKENS = 1e-9
#: Checkpoint entries the encoder does not use: the pooler head and a constant buffer.
UNUSED = ("pooler.", "embeddings.position_ids")


class TextEncoder(nn.Module):
    """`(input_ids, attention_mask) -> embedding [N, 384]`, L2-normalised."""

    def __init__(self, bert: nn.Module) -> None:
        super().__init__()
        self.bert = bert

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        token_type_ids = torch.zeros_like(input_ids)
        hidden = self.bert(
            input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
        ).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        mean = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=MIN_TOKENS)
        return F.normalize(mean, p=2.0, dim=1)


def build_encoder(bert_config: dict[str, Any]) -> TextEncoder:
    """An encoder with random weights shaped by a BERT `config.json` dict."""
    from transformers import BertConfig, BertModel

    # eager attention: plain ops the legacy ONNX exporter traces exactly
    config = BertConfig(**{**bert_config, "attn_implementation": "eager"})
    return TextEncoder(BertModel(config, add_pooling_layer=False))


def load_encoder(folder: Path) -> tuple[TextEncoder, dict[str, Any]]:
    """The pretrained encoder from a verified model folder, in eval mode, and its config dict.

    Loaded strictly from model.safetensors (no hub, no remote code): every weight the
    module has must be in the file."""
    from safetensors.torch import load_file

    bert_config = json.loads((Path(folder) / "config.json").read_text())
    encoder = build_encoder(bert_config)
    weights = load_file(str(Path(folder) / "model.safetensors"))
    state = {k: v for k, v in weights.items() if not k.startswith(UNUSED)}
    encoder.bert.load_state_dict(state, strict=True)
    encoder.eval()
    return encoder, bert_config
