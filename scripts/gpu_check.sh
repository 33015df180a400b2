#!/usr/bin/env bash
# The GPU check: on a machine with an NVIDIA GPU and onnxruntime-gpu, run the raw
# ONNX Runtime and serving benchmarks on CUDA, then on TensorRT where it loads,
# with IO binding in the raw loop, and print the same tables as `ferry bench serve`;
# then measure batches in flight on the one GPU: each model on 2 instances (sessions,
# each fed by its own thread, as the service runs FERRY_INSTANCES=2) against 1.
#
#   scripts/gpu_check.sh [OUT_DIR]          (default: results/gpu)
#
# Needs a registry with the models to measure (FERRY_REGISTRY, default ./registry;
# `ferry train tabular` and `ferry train digits` make them) and a Python with
# ferry[serve] installed (PYTHON, default .venv/bin/python). Fails, never skips,
# when no GPU runs: no driver, no CUDA libraries (pip install 'ferry[gpu]'), or
# ONNX Runtime falling back to the CPU.
#
# Settings: FERRY_GPU_CLIENTS (1,8,32,64), FERRY_GPU_SECONDS (3), FERRY_GPU_ROUNDS (1),
# FERRY_GPU_MODELS (every model with a production alias), FERRY_GPU_TENSORRT (auto|0),
# FERRY_GPU_INSTANCES (instance counts to compare: 1,2), FERRY_GPU_BATCH (rows per batch
# in flight: 64), FERRY_GPU_STEPS (serve,instances). FERRY_GPU_PROVIDERS (provider sets,
# space-separated) skips the probe: for running the script's steps on a CPU in its tests.
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=${1:-results/gpu}
PY=${PYTHON:-.venv/bin/python}
REGISTRY=${FERRY_REGISTRY:-registry}
CLIENTS=${FERRY_GPU_CLIENTS:-1,8,32,64}
SECONDS_PER_LEVEL=${FERRY_GPU_SECONDS:-3}
ROUNDS=${FERRY_GPU_ROUNDS:-1}
INSTANCES=${FERRY_GPU_INSTANCES:-1,2}
BATCH=${FERRY_GPU_BATCH:-64}
STEPS=${FERRY_GPU_STEPS:-serve,instances}
say() { printf '[gpu_check] %s\n' "$*" >&2; }
fail() { say "FAIL: $*"; exit 2; }

command -v nvidia-smi >/dev/null || fail "nvidia-smi not found: no NVIDIA driver on this machine"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader \
  || fail "nvidia-smi sees no GPU"
[ -x "$PY" ] || fail "$PY not found: set PYTHON to a Python with ferry[serve] installed"
[ -d "$REGISTRY" ] || fail "no registry at $REGISTRY: train models first or set FERRY_REGISTRY"

# Which GPU providers really run (a session can ask for CUDA and get the CPU).
PROVIDERS=${FERRY_GPU_PROVIDERS:-}
[ -n "$PROVIDERS" ] || PROVIDERS=$(FERRY_REGISTRY=$REGISTRY "$PY" - <<'EOF'
import os, sys
import onnxruntime as ort
from export.registry import Registry
from service.runtime.providers import with_options
from service.runtime.settings import RuntimeSettings

if hasattr(ort, "preload_dlls"):  # CUDA/cuDNN from the nvidia-* wheels, if installed
    ort.preload_dlls()
registry = Registry(os.environ["FERRY_REGISTRY"])
names = [m for m in registry.models() if "production" in registry.aliases(m)]
if not names:
    sys.exit("no model with a production alias in the registry")
artifact = registry.get(f"{names[0]}@production")
print(f"onnxruntime {ort.__version__}, available: {ort.get_available_providers()}", file=sys.stderr)
sets = [["CUDAExecutionProvider", "CPUExecutionProvider"]]
if os.environ.get("FERRY_GPU_TENSORRT", "auto") != "0":
    sets.append(["TensorrtExecutionProvider", *sets[0]])
usable = []
for wanted in sets:
    options = with_options(wanted, artifact.manifest.signature, RuntimeSettings())
    session = ort.InferenceSession(str(artifact.model_path), providers=options)
    actual = session.get_providers()
    print(f"asked {wanted[0]}: runs on {actual}", file=sys.stderr)
    if actual[0] == wanted[0]:
        usable.append(",".join(wanted))
print(" ".join(usable))
EOF
) || fail "could not probe ONNX Runtime's providers"
case " $PROVIDERS " in
  *" CUDAExecutionProvider,"*) ;;
  *) [ -n "${FERRY_GPU_PROVIDERS:-}" ] \
       || fail "ONNX Runtime does not run on CUDA here (missing CUDA 13 / cuDNN 9 libraries? pip install 'ferry[gpu]')" ;;
esac

MODEL_ARGS=()
MODELS=${FERRY_GPU_MODELS:-}
for m in ${MODELS//,/ }; do MODEL_ARGS+=(--model "$m"); done
# Batches in flight cover every model with a production alias, text models included.
IN_FLIGHT_ARGS=("${MODEL_ARGS[@]}")
if [ ${#IN_FLIGHT_ARGS[@]} -eq 0 ]; then
  for m in $(FERRY_REGISTRY=$REGISTRY "$PY" -c 'import os
from export.registry import Registry
r = Registry(os.environ["FERRY_REGISTRY"])
print(" ".join(m for m in r.models() if "production" in r.aliases(m)))'); do
    IN_FLIGHT_ARGS+=(--model "$m")
  done
fi
status=0
for set in $PROVIDERS; do
  tag=$(printf '%s' "${set%%,*}" | sed 's/ExecutionProvider//' | tr '[:upper:]' '[:lower:]')
  if [[ ",$STEPS," == *",serve,"* ]]; then
    say "benchmark on $set -> $OUT/$tag"
    FERRY_REGISTRY=$REGISTRY "$PY" -m ferry bench serve --registry "$REGISTRY" "${MODEL_ARGS[@]}" \
      --providers "$set" --io-binding --clients "$CLIENTS" --seconds "$SECONDS_PER_LEVEL" \
      --rounds "$ROUNDS" --out "$OUT/$tag" || status=$?
  fi
  if [[ ",$STEPS," == *",instances,"* ]]; then
    say "batches in flight on $set: instances $INSTANCES -> $OUT/$tag/instances.json"
    "$PY" -m loadtests.instances --registry "$REGISTRY" "${IN_FLIGHT_ARGS[@]}" \
      --providers "$set" --instances "$INSTANCES" --batch "$BATCH" \
      --seconds "$SECONDS_PER_LEVEL" --json "$OUT/$tag/instances.json" || status=$?
  fi
done
say "results under $OUT (exit $status: non-zero means a goal in loadtests/thresholds.toml was missed)"
exit "$status"
