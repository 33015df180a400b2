"""`ferry serve`: the BentoML service on the registry's `production` models."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Annotated

import typer
from rich.console import Console

from ferry.options import DEFAULT_REGISTRY, RegistryOption

console = Console(stderr=True)
DEFAULT_RECIPE = "tabular"


def serve(
    registry: RegistryOption = DEFAULT_REGISTRY,
    host: Annotated[str, typer.Option(envvar="FERRY_HOST", help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(envvar="FERRY_PORT", help="Port to bind.")] = 3000,
    grpc_port: Annotated[
        int,
        typer.Option(envvar="FERRY_GRPC_PORT", help="gRPC (Open Inference Protocol) port; 0: off."),
    ] = 8001,
    bootstrap: Annotated[
        bool,
        typer.Option(help=f"Train and publish `{DEFAULT_RECIPE}` first if the registry is empty."),
    ] = False,
) -> None:
    """Serve every model with a `production` alias (or those in $FERRY_MODELS)."""
    from export.registry import Registry

    reg = Registry(registry)
    if bootstrap and not reg.models():
        console.print(
            f"registry {registry} is empty: training the default model `{DEFAULT_RECIPE}`"
        )
        # A child process, so the server below never has torch in memory.
        cmd = [sys.executable, "-m", "ferry", "train", DEFAULT_RECIPE, "--registry", str(registry)]
        subprocess.run(cmd, check=True)
    # the gRPC server starts inside the service, so it learns its address from here
    env = {
        **os.environ,
        "FERRY_REGISTRY": reg.url,
        "FERRY_HOST": host,
        "FERRY_GRPC_PORT": str(grpc_port),
    }
    argv = [
        sys.executable,
        "-m",
        "bentoml",
        "serve",
        "service.app:Ferry",
        "--host",
        host,
        "--port",
        str(port),
    ]
    grpc = f" and grpc://{host}:{grpc_port}" if grpc_port else ""
    console.print(f"serving {registry} on http://{host}:{port}{grpc}")
    os.execvpe(sys.executable, argv, env)
