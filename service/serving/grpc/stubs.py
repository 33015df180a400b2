"""The protocol's messages and service stubs: Triton's, as `tritonclient[grpc]` ships them.

One place imports them, so moving to stubs generated from the `.proto` at build
time would change this module only (the README says why we do not).
"""

from tritonclient.grpc import model_config_pb2, service_pb2, service_pb2_grpc

__all__ = ["model_config_pb2", "service_pb2", "service_pb2_grpc"]
