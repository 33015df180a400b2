"""Which version answers a request when its model's alias has a canary.

A request with a key (the `X-Canary-Key` header, else its V2 `id`) goes to the canary
when its bucket — a hash of the model and the key, one of `RESOLUTION` — is below the
canary's weight: the same key gets the same version on every replica, for as long as
the weight stays, and raising the weight only moves keys from the alias's version to
the canary, never back. A request without a key draws its bucket at random.
"""

from __future__ import annotations

import hashlib
import random

from export.registry.rollouts import RESOLUTION

KEY_HEADER = "X-Canary-Key"
#: Longer keys are cut: a key names a caller, it is not a payload.
MAX_KEY = 256


def request_key(header: str | None, request_id: object = None) -> str | None:
    """The key a request is routed by: the header, else the V2 `id`, else None."""
    if header:
        return header[:MAX_KEY]
    if isinstance(request_id, str | int) and not isinstance(request_id, bool) and request_id != "":
        return str(request_id)[:MAX_KEY]
    return None


def bucket(model: str, key: str | None) -> int:
    """The request's bucket, 0 to RESOLUTION - 1 (random without a key)."""
    if key is None:
        return random.randrange(RESOLUTION)
    digest = hashlib.blake2b(f"{model}\0{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % RESOLUTION


def takes_canary(model: str, key: str | None, weight: float) -> bool:
    """Whether a request of `model` with `key` goes to a canary of `weight` percent."""
    return bucket(model, key) < round(weight * RESOLUTION / 100)
