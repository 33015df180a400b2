"""Canary routing: the share of keys it sends, stickiness, and the key it reads."""

from __future__ import annotations

import hashlib

import pytest

from service.serving.routing import bucket, request_key, takes_canary

KEYS = [f"user-{i}" for i in range(10_000)]


@pytest.mark.parametrize("weight", [1.0, 5.0, 10.0, 33.3, 50.0, 90.0])
def test_the_share_of_10000_keys_is_within_one_point_of_the_weight(weight: float) -> None:
    share = 100 * sum(takes_canary("tabular", key, weight) for key in KEYS) / len(KEYS)
    assert abs(share - weight) <= 1.0, share


def test_a_key_always_gets_the_same_version_and_more_weight_only_adds_keys() -> None:
    at_10 = {key for key in KEYS if takes_canary("tabular", key, 10)}
    assert at_10 == {key for key in KEYS if takes_canary("tabular", key, 10)}  # again: same
    at_20 = {key for key in KEYS if takes_canary("tabular", key, 20)}
    assert at_10 < at_20  # raising the weight never sends a canary key back
    assert not any(takes_canary("tabular", key, 0) for key in KEYS)
    assert all(takes_canary("tabular", key, 100) for key in KEYS)
    other = {key for key in KEYS if takes_canary("digits", key, 10)}
    assert len(other & at_10) < len(at_10) / 2  # each model splits its own way


def test_the_bucket_is_the_documented_hash() -> None:
    """blake2b-64 of `model NUL key`, big-endian, modulo 10,000: any replica (or client)
    computes the same."""
    digest = hashlib.blake2b(b"tabular\x00user-7", digest_size=8).digest()
    assert bucket("tabular", "user-7") == int.from_bytes(digest, "big") % 10_000


def test_the_key_is_the_header_else_the_request_id() -> None:
    assert request_key("alice", "req-1") == "alice"
    assert request_key(None, "req-1") == "req-1"
    assert request_key("", 42) == "42"
    assert request_key(None, None) is None and request_key(None, True) is None
    assert request_key(None, {"id": 1}) is None and request_key(None, "") is None
    assert len(request_key("k" * 10_000) or "") == 256
    random_buckets = {bucket("tabular", None) for _ in range(200)}
    assert len(random_buckets) > 150  # no key: drawn at random
