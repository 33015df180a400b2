#!/usr/bin/env bash
# Build the serving image, run it on a registry volume with a trained model, and
# check it for real: readiness, predictions equal to ONNX Runtime's, non-root,
# no torch, health check. Uses docker where an engine answers, else podman
# (installed and configured here if missing). Fails, never skips, without one.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PY=${PYTHON:-$ROOT/.venv/bin/python}
TAG=ferry:smoke
NAME=ferry-smoke-$$
CACHE=${FERRY_CACHE:-$HOME/.cache/ferry}
WORK=$(mktemp -d)
log() { printf '[container_smoke] %s\n' "$*"; }

if docker info >/dev/null 2>&1; then
  ENGINE=docker
  BASE_IMAGE=${BASE_IMAGE:-python:3.11-slim-bookworm}
else
  ENGINE=podman
  export CONTAINERS_CONF=$ROOT/scripts/container/containers.conf
  if ! command -v podman >/dev/null || ! command -v debootstrap >/dev/null; then
    log "installing podman, runc and debootstrap"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman runc debootstrap uidmap \
      containernetworking-plugins iptables >/dev/null
  fi
  BASE_IMAGE=${BASE_IMAGE:-localhost/ferry-python:3.11-bookworm}
fi
cleanup() {
  $ENGINE rm -f "$NAME" >/dev/null 2>&1 || true
  $ENGINE rmi -f "$TAG" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

if [ "$ENGINE" = podman ] && ! podman image exists "$BASE_IMAGE"; then
  if ! podman image exists localhost/ferry-debian:bookworm; then
    mkdir -p "$CACHE"
    if [ ! -s "$CACHE/bookworm-minbase.tar" ]; then
      log "debootstrap bookworm (cached in $CACHE)"
      debootstrap --variant=minbase bookworm "$WORK/rootfs" http://deb.debian.org/debian >/dev/null
      tar -C "$WORK/rootfs" -cf "$CACHE/bookworm-minbase.tar.tmp" .
      mv "$CACHE/bookworm-minbase.tar.tmp" "$CACHE/bookworm-minbase.tar"
      rm -rf "$WORK/rootfs"
    fi
    podman import "$CACHE/bookworm-minbase.tar" localhost/ferry-debian:bookworm >/dev/null
  fi
  log "building the Python base stand-in $BASE_IMAGE"
  podman build -q -f scripts/container/python-base.Containerfile -t "$BASE_IMAGE" scripts/container >/dev/null
fi

log "building $TAG on $BASE_IMAGE with $ENGINE"
SECRET=()
[ -f /etc/ssl/certs/ca-certificates.crt ] && SECRET=(--secret id=ca,src=/etc/ssl/certs/ca-certificates.crt)
FORMAT=()
[ "$ENGINE" = podman ] && FORMAT=(--format docker)  # OCI images drop HEALTHCHECK
$ENGINE build -q "${FORMAT[@]}" "${SECRET[@]}" --build-arg BASE_IMAGE="$BASE_IMAGE" -t "$TAG" . >/dev/null
SIZE=$($ENGINE image inspect "$TAG" --format '{{.Size}}')
log "image size: $((SIZE / 1000000)) MB"

log "training a model into a registry volume"
"$PY" -m ferry train tabular --registry "$WORK/registry" --epochs 30 --checkpoints "$WORK/ckpt" >/dev/null
chmod -R a+rX "$WORK/registry"
PORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
$ENGINE run -d --name "$NAME" -p "127.0.0.1:$PORT:3000" -v "$WORK/registry:/models:ro" "$TAG" >/dev/null

URL=http://127.0.0.1:$PORT
for _ in $(seq 1 120); do
  curl -fs "$URL/readyz" >/dev/null 2>&1 && break
  if [ "$($ENGINE inspect -f '{{.State.Running}}' "$NAME")" != true ]; then
    $ENGINE logs "$NAME" | tail -40; log "container exited"; exit 1
  fi
  sleep 1
done
curl -fs "$URL/readyz" >/dev/null || { $ENGINE logs "$NAME" | tail -40; log "not ready after 120 s"; exit 1; }
log "ready on $URL"

"$PY" - "$URL" "$WORK/registry" <<'PY'
import sys
import httpx, numpy as np, onnxruntime as ort
from sklearn.datasets import load_breast_cancer
from export.registry import Registry
url, root = sys.argv[1], sys.argv[2]
rows = load_breast_cancer().data[:16].astype(np.float32)
answer = httpx.post(f"{url}/predict", json={"model": "tabular", "inputs": {"features": rows.tolist()}}, timeout=30)
answer.raise_for_status()
got = np.asarray(answer.json()["outputs"]["probabilities"])
artifact = Registry(root).get("tabular@production")
want = ort.InferenceSession(str(artifact.model_path), providers=["CPUExecutionProvider"]).run(None, {"features": rows})[0]
assert np.allclose(got, want, atol=1e-6), np.abs(got - want).max()
v2 = httpx.post(f"{url}/v2/models/tabular/infer", json={"inputs": [
    {"name": "features", "shape": [16, 30], "datatype": "FP32", "data": rows.ravel().tolist()}]}).json()
assert np.allclose(np.asarray(v2["outputs"][0]["data"]).reshape(16, 2), want, atol=1e-6)
bad = httpx.post(f"{url}/predict", json={"model": "tabular", "inputs": {"features": [[1.0] * 29]}})
assert bad.status_code == 400, bad.text
print(f"[container_smoke] 16 predictions equal ONNX Runtime's; version {answer.json()['model_version']}")
PY

USER_ID=$($ENGINE exec "$NAME" id -u)
[ "$USER_ID" != 0 ] || { log "the service runs as root"; exit 1; }
if $ENGINE exec "$NAME" python -c "import torch" >/dev/null 2>&1; then log "torch is in the image"; exit 1; fi
if [ "$ENGINE" = podman ]; then
  podman healthcheck run "$NAME" >/dev/null || { log "HEALTHCHECK failed"; exit 1; }
fi
log "ok: runs as uid $USER_ID, no torch, health check passes"
