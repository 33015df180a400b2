"""GPU providers get their options; the session reports what really runs."""

from __future__ import annotations

from pathlib import Path

from export.registry import Artifact
from export.signature import Signature, TensorSpec
from service.runtime import ModelRuntime
from service.runtime.providers import with_options
from service.runtime.settings import RuntimeSettings

TEXT = Signature(
    (
        TensorSpec("input_ids", "int64", (-1, -1)),
        TensorSpec("attention_mask", "int64", (-1, -1)),
    ),
    (TensorSpec("embedding", "float32", (-1, 384)),),
)
TABULAR = Signature(
    (TensorSpec("features", "float32", (-1, 30)),),
    (TensorSpec("probabilities", "float32", (-1, 2)),),
)
ALL = ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"]


def test_tensorrt_gets_a_shape_profile_for_every_dynamic_axis(tmp_path: Path) -> None:
    settings = RuntimeSettings(trt_max_batch=64, trt_cache_dir=tmp_path, device_id=1)
    trt, cuda, cpu = with_options(ALL, TEXT, settings, max_length=128)
    name, options = trt
    assert name == "TensorrtExecutionProvider"
    assert options["trt_profile_min_shapes"] == "input_ids:1x1,attention_mask:1x1"
    assert options["trt_profile_opt_shapes"] == "input_ids:16x128,attention_mask:16x128"
    assert options["trt_profile_max_shapes"] == "input_ids:64x128,attention_mask:64x128"
    assert options["trt_engine_cache_path"] == str(tmp_path)
    assert options["device_id"] == "1" and options["trt_fp16_enable"] == "false"
    assert cuda[0] == "CUDAExecutionProvider"
    assert cuda[1]["arena_extend_strategy"] == "kSameAsRequested"
    assert cpu == "CPUExecutionProvider"
    (_, fixed), *_ = with_options(ALL, TABULAR, settings)
    assert fixed["trt_profile_max_shapes"] == "features:64x30"


def test_asking_for_every_gpu_provider_still_loads_and_reports_the_truth(
    artifact: Artifact,
) -> None:
    runtime = ModelRuntime.load(artifact, RuntimeSettings(providers=ALL))
    assert runtime.providers == list(runtime.session.get_providers())
    assert runtime.providers[-1] == "CPUExecutionProvider"
