"""What a training recipe hands to checkpoints, export and the registry."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from torch import nn

from export.signature import Signature


@dataclass
class Trained:
    """A trained module in eval mode plus everything publishing and checkpoints need."""

    module: nn.Module
    signature: Signature
    sample_inputs: dict[str, np.ndarray]
    labels: list[str]
    features: list[str]
    metrics: dict[str, float]
    data_fingerprint: str
    task: str
    preprocessing: dict[str, Any]
    training: dict[str, Any]
    kind: str = "tabular"
    config: dict[str, Any] = field(default_factory=dict)
    # files published beside the graph and hashed in the manifest (a text model's tokenizer)
    files: dict[str, bytes] = field(default_factory=dict)
    # random rows the parity check adds to `sample_inputs`; fewer for a costly model
    parity_rows: int = 1000
    # what a card plots: learning curve, test-split curves (see `training.evaluation`)
    evaluation: dict[str, Any] = field(default_factory=dict)
    # model inputs of the training rows: the reference that drift is measured against
    # ({}: the held-out `sample_inputs` stand in)
    reference_inputs: dict[str, np.ndarray] = field(default_factory=dict)
