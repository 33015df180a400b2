"""Open Inference Protocol V2 over gRPC: `inference.GRPCInferenceService` on `grpc.aio`.

ServerLive, ServerReady, ModelReady, ServerMetadata, ModelMetadata, ModelInfer and
Triton's ModelConfig, served inside the service process on `FERRY_GRPC_PORT`
(`server`), through the same model set, batchers, validation and errors as V2
REST (`servicer` → `service.serving.handlers`). Tensors arrive in
`raw_input_contents` (what `tritonclient.grpc` sends) or typed `contents`
(`tensors`); outputs always go to `raw_output_contents`, the only place
tritonclient's `as_numpy` reads. Errors keep their HTTP status's gRPC code
(`service.serving.errors.GRPC_CODES`; `status`). The messages are Triton's own
(`stubs`: `tritonclient[grpc]`'s `service_pb2`).
"""

from service.serving.grpc.server import GrpcServer, start_grpc
from service.serving.grpc.servicer import InferenceServicer

__all__ = ["GrpcServer", "InferenceServicer", "start_grpc"]
