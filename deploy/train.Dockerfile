# syntax=docker/dockerfile:1.7
# ferry training image: `ferry train` and the retraining job (torch, the train extra, no
# server). The serving image (../Dockerfile) deliberately holds no torch.
#   docker build -f deploy/train.Dockerfile -t ferry-train .
ARG BASE_IMAGE=python:3.11-slim-bookworm
FROM ${BASE_IMAGE}
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY export ./export
COPY training ./training
COPY ferry ./ferry
COPY service ./service
COPY loadtests ./loadtests
# torch's CPU wheels (the default index's Linux wheels bring CUDA, gigabytes of it)
RUN --mount=type=secret,id=ca,required=false \
    set -eu; if [ -f /run/secrets/ca ]; then export PIP_CERT=/run/secrets/ca; fi; \
    pip install --extra-index-url https://download.pytorch.org/whl/cpu ".[train]"; \
    useradd --uid 10001 --create-home --shell /usr/sbin/nologin ferry
USER 10001
WORKDIR /home/ferry
ENTRYPOINT ["ferry"]
