"""`ferry serve`: the BentoML service on the registry's `production` models."""

from __future__ import annotations

import errno
import os
import socket
import subprocess
import sys
from typing import Annotated

import typer
from rich.console import Console

from ferry.errors import Code, CommandError
from ferry.options import DEFAULT_REGISTRY, RegistryOption, local_folder

console = Console(stderr=True)
DEFAULT_RECIPE = "tabular"


def serve(
    registry: RegistryOption = DEFAULT_REGISTRY,
    host: Annotated[str, typer.Option(envvar="FERRY_HOST", help="Address to bind.")] = "127.0.0.1",
    port: Annotated[
        int, typer.Option(envvar="FERRY_PORT", min=1, max=65535, help="Port to bind.")
    ] = 3000,
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

    check_port(host, port)
    if grpc_port:
        check_port(host, grpc_port, "--grpc-port (or $FERRY_GRPC_PORT)")
    reg = Registry(registry)
    if bootstrap and not reg.models():
        console.print(
            f"registry {registry} is empty: training the default model `{DEFAULT_RECIPE}`"
        )
        # A child process, so the server below never has torch in memory.
        cmd = [sys.executable, "-m", "ferry", "train", DEFAULT_RECIPE, "--registry", str(registry)]
        subprocess.run(cmd, check=True)
    check_registry(registry)
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


def check_port(host: str, port: int, option: str = "--port (or $FERRY_PORT)") -> None:
    """Bind the address once, as the server will, so a taken port is one clear line
    (BentoML's process manager would print a traceback and keep running)."""
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    except socket.gaierror as err:
        raise CommandError(f"--host {host}: not an address to bind ({err})", Code.USAGE) from err
    except OSError as err:
        if err.errno == errno.EADDRINUSE:
            raise CommandError(
                f"port {port} on {host} is already in use: stop what listens there, "
                f"or pass another {option}",
                Code.PORT_IN_USE,
            ) from err
        raise CommandError(f"cannot bind {host}:{port}: {err.strerror}", Code.USAGE) from err


def check_registry(registry: str) -> None:
    """A local registry must be a folder: a typo would otherwise start a service with no
    models (a remote one is checked by the service, which says what fails in /status)."""
    folder = local_folder(registry)
    if folder is not None and not folder.is_dir():
        raise CommandError(
            f"registry {registry}: no such folder; train a model into it first "
            f"(`ferry train {DEFAULT_RECIPE} --registry {registry}`), pass --bootstrap, "
            "or point --registry ($FERRY_REGISTRY) at an existing registry",
            Code.NO_FILE,
        )
