"""The gRPC server's life: started and stopped by the BentoML service's hooks."""

from __future__ import annotations

from dataclasses import dataclass

import grpc

from service.serving.errors import NotReady
from service.serving.grpc.servicer import InferenceServicer
from service.serving.grpc.stubs import service_pb2_grpc
from service.serving.settings import GrpcSettings


class GrpcUnavailable(NotReady):
    """The gRPC port could not be bound."""


@dataclass
class GrpcServer:
    server: grpc.aio.Server
    address: str

    async def stop(self, grace_s: float = 5.0) -> None:
        """Refuse new calls, let those running finish for up to `grace_s`."""
        await self.server.stop(grace_s)


async def start_grpc(
    servicer: InferenceServicer, settings: GrpcSettings, host: str, workers: int = 1
) -> GrpcServer:
    """Listen on `host:settings.port` (in the running event loop; port 0 takes any free
    port, which `address` then names).

    Several workers share the port (SO_REUSEPORT); a lone one does not, so a port
    another server holds fails here, loudly, instead of splitting its traffic.
    """
    limit = settings.max_message_bytes
    server = grpc.aio.server(
        options=[
            ("grpc.max_receive_message_length", limit),
            ("grpc.max_send_message_length", limit),
            ("grpc.so_reuseport", int(workers > 1)),
        ]
    )
    service_pb2_grpc.add_GRPCInferenceServiceServicer_to_server(servicer, server)
    name = f"[{host}]" if ":" in host else host
    try:
        port = server.add_insecure_port(f"{name}:{settings.port}")
    except RuntimeError as err:
        raise GrpcUnavailable(
            f"gRPC: cannot listen on {name}:{settings.port} ({err}); set FERRY_GRPC_PORT to "
            "a free port, or to 0 to turn gRPC off"
        ) from err
    await server.start()
    return GrpcServer(server, f"{name}:{port}")
