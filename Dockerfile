# syntax=docker/dockerfile:1.7
# ferry serving image. CPU (default):
#   docker build -t ferry .
# GPU (onnxruntime-gpu 1.31 is built for CUDA 13; Ubuntu 24.04 brings Python 3.12):
#   docker build --build-arg BASE_IMAGE=nvidia/cuda:13.0.1-cudnn-runtime-ubuntu24.04 \
#                --build-arg ORT_PACKAGE=onnxruntime-gpu -t ferry:gpu .
# Pin bases by digest in production (docs/deploy.md says how).
ARG BASE_IMAGE=python:3.11-slim-bookworm

FROM ${BASE_IMAGE} AS build
# CUDA bases come without Python; python:* and the CI stand-in already have it.
RUN set -eu; if ! python3 -m venv --help >/dev/null 2>&1; then \
      apt-get update && apt-get install -y --no-install-recommends python3 python3-venv \
      && rm -rf /var/lib/apt/lists/*; \
    fi
RUN python3 -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
ARG ORT_PACKAGE=onnxruntime
# Dependencies first, from pyproject.toml alone, so a code change reuses this layer.
# The CA bundle arrives as a build secret where a TLS-inspecting proxy needs it; it is
# never written into a layer.
# constraints.txt pins each package to the version the tests ran with.
COPY pyproject.toml README.md constraints.txt ./
RUN --mount=type=secret,id=ca,required=false \
    set -eu; if [ -f /run/secrets/ca ]; then export PIP_CERT=/run/secrets/ca; fi; \
    for p in export service ferry training loadtests; do mkdir -p "$p" && touch "$p/__init__.py"; done; \
    pip install -c constraints.txt ".[serve]"; \
    pip uninstall -y onnxruntime onnxruntime-gpu; \
    pip install "${ORT_PACKAGE}>=1.20"
COPY export ./export
COPY service ./service
COPY ferry ./ferry
COPY training ./training
COPY loadtests ./loadtests
RUN --mount=type=secret,id=ca,required=false \
    set -eu; if [ -f /run/secrets/ca ]; then export PIP_CERT=/run/secrets/ca; fi; \
    pip install --no-deps --force-reinstall . ; \
    python -c "import onnxruntime, service.app"; \
    ! python -c "import torch" 2>/dev/null

FROM ${BASE_IMAGE} AS runtime
RUN set -eu; if ! python3 -c "import venv" >/dev/null 2>&1; then \
      apt-get update && apt-get install -y --no-install-recommends python3 \
      && rm -rf /var/lib/apt/lists/*; \
    fi; \
    useradd --uid 10001 --create-home --shell /usr/sbin/nologin ferry; \
    mkdir -p /models && chown ferry /models
COPY --from=build /opt/venv /opt/venv
# Models baked in at build time (optional): `ferry models copy REF --to deploy/baked`
# then build; a volume mounted on /models replaces them.
COPY --chown=ferry deploy/baked/ /models/
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    FERRY_REGISTRY=/models \
    FERRY_HOST=0.0.0.0 \
    FERRY_PORT=3000 \
    FERRY_GRPC_PORT=8001 \
    BENTOML_HOME=/home/ferry/bentoml
USER 10001
WORKDIR /home/ferry
# HTTP (REST, OpenAI, metrics) and gRPC (Open Inference Protocol)
EXPOSE 3000 8001
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(f\"http://127.0.0.1:{os.environ['FERRY_PORT']}/readyz\", timeout=2)"]
ENTRYPOINT ["ferry", "serve"]
