"""The protocols' floor: a V2 answer returned without a model, over both protocols.

One process, one event loop (uvloop, as the service's): uvicorn with httptools
answers `POST /v2/models/{name}/infer` with the binary tensor extension, and a bare
`grpc.aio` servicer answers `ModelInfer`, each with the output a digits batch of the
request's rows would have. What the two round trips cost here, with nothing of
ferry's in either, is the floor under `ferry bench protocols`' gRPC-against-REST
figure. Run: `python -m loadtests.peers.protocol_floor REST_PORT GRPC_PORT`.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import grpc
import uvicorn
import uvloop
from tritonclient.grpc import service_pb2, service_pb2_grpc

OUTPUT, CLASSES = "probabilities", 10


def _answer(model: str, rows: int) -> tuple[dict[str, Any], bytes]:
    raw = bytes(4 * rows * CLASSES)
    head = {
        "model_name": model,
        "model_version": "1",
        "outputs": [
            {"name": OUTPUT, "datatype": "FP32", "shape": [rows, CLASSES],
             "parameters": {"binary_data_size": len(raw)}},
        ],
    }  # fmt: skip
    return head, raw


class Floor(service_pb2_grpc.GRPCInferenceServiceServicer):
    async def ModelInfer(self, request: Any, context: Any) -> Any:
        rows = int(request.inputs[0].shape[0])
        _, raw = _answer(request.model_name, rows)
        response = service_pb2.ModelInferResponse(model_name=request.model_name, model_version="1")
        response.outputs.add(name=OUTPUT, datatype="FP32", shape=[rows, CLASSES])
        response.raw_output_contents.append(raw)
        return response


async def rest(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    body, more = b"", True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    length = dict(scope["headers"])[b"inference-header-content-length"]
    request = json.loads(body[: int(length)])
    model = scope["path"].split("/")[3]
    head, raw = _answer(model, int(request["inputs"][0]["shape"][0]))
    header = json.dumps(head).encode()
    headers = [
        (b"content-type", b"application/octet-stream"),
        (b"inference-header-content-length", str(len(header)).encode()),
        (b"content-length", str(len(header) + len(raw)).encode()),
    ]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": header + raw})


async def serve(rest_port: int, grpc_port: int) -> None:
    server = grpc.aio.server()
    service_pb2_grpc.add_GRPCInferenceServiceServicer_to_server(Floor(), server)
    server.add_insecure_port(f"127.0.0.1:{grpc_port}")
    await server.start()
    config = uvicorn.Config(rest, "127.0.0.1", rest_port, http="httptools", lifespan="off",
                            log_level="warning", access_log=False)  # fmt: skip
    await uvicorn.Server(config).serve()
    await server.stop(0)


if __name__ == "__main__":
    uvloop.run(serve(int(sys.argv[1]), int(sys.argv[2])))
