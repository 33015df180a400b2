"""Shadow summaries in the registry, merged over replicas, and the promotion gate on them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from export.errors import Conflict, GateRefused
from export.registry import Registry
from export.shadow import AgreementSummary, ShadowRecord, promote_if_agreed, report, save
from export.shadow import gate as gate_module
from tests.support.onnx_models import publish_linear

LABELS = ["negative", "positive"]


@pytest.fixture
def registry(tmp_path: Path) -> Registry:
    registry = Registry(tmp_path / "reg")
    for seed in range(3):
        publish_linear(registry, seed=seed, promote=seed == 0)
    return registry


def summary(agreeing: int, disagreeing: int, requests: int) -> AgreementSummary:
    """`agreeing` rows with equal labels, then `disagreeing` rows with flipped ones."""
    primary = np.array([[0.9, 0.1]] * (agreeing + disagreeing))
    shadow = np.array([[0.8, 0.2]] * agreeing + [[0.3, 0.7]] * disagreeing)
    made = AgreementSummary()
    made.add(primary, shadow, requests, (LABELS, primary.argmax(1), LABELS, shadow.argmax(1)))
    return made


def write(registry: Registry, replica: str, part: AgreementSummary, shadow: str = "3") -> None:
    session = registry.rollout("tabular").session
    primary = registry.aliases("tabular")["production"]
    save(registry, ShadowRecord("tabular", "production", primary, shadow, session, replica, part))


def test_the_report_merges_every_replicas_document(registry: Registry) -> None:
    assert report(registry, "tabular") is None
    registry.shadow("tabular", "3")
    empty = report(registry, "tabular")
    assert empty is not None and empty.summary.requests == 0 and empty.shadow == "3"
    write(registry, "host-a-1", summary(90, 10, 60))
    write(registry, "host-b-2", summary(95, 5, 40))
    write(registry, "host-b-2", summary(190, 10, 80))  # a later write replaces its own
    merged = report(registry, "tabular")
    assert merged is not None and [r["replica"] for r in merged.replicas] == [
        "host-a-1",
        "host-b-2",
    ]
    assert merged.summary.requests == 140 and merged.summary.rows == 300
    assert merged.summary.label_agreement == pytest.approx(280 / 300)
    registry.storage.write("tabular/.documents/shadow.r00000002.junk.json", b"{not json")
    registry.shadow("tabular", None)  # off: the latest session is still what is reported
    assert report(registry, "tabular").summary.requests == 140  # type: ignore[union-attr]
    registry.shadow("tabular", "3")  # again: a new session, counted afresh
    assert report(registry, "tabular").summary.requests == 0  # type: ignore[union-attr]


def test_the_gate_promotes_on_agreement_and_records_its_decisions(registry: Registry) -> None:
    registry.shadow("tabular", "3")
    write(registry, "a", summary(97, 3, 150))
    with pytest.raises(GateRefused, match=r"label agreement 0\.9700 is below 0\.98") as refused:
        promote_if_agreed(registry, "tabular", "3", 0.98, min_requests=100)
    assert refused.value.status == 412
    with pytest.raises(GateRefused, match="compared 150 requests, fewer than 200"):
        promote_if_agreed(registry, "tabular", "3", 0.95, min_requests=200)
    with pytest.raises(GateRefused, match="no shadow report of version 2 against 1"):
        promote_if_agreed(registry, "tabular", "2", 0.5, min_requests=1)
    assert registry.aliases("tabular")["production"] == "1"

    previous, verdict = promote_if_agreed(registry, "tabular", "3", 0.95, min_requests=100)
    assert previous == "1" and verdict.passed and registry.aliases("tabular")["production"] == "3"
    moved = registry.history("tabular")[-1]
    assert moved["event"] == "promote" and moved["ended"]["shadow"] == "3"
    assert moved["gate"] == {
        "name": "shadow-agreement", "measure": "labels", "agreement": 0.97, "threshold": 0.95,
        "requests": 150, "min_requests": 100, "session": "r00000002",
    }  # fmt: skip
    decisions = [(d["decision"], d["challenger"]) for d in registry.audit("tabular")]
    assert decisions == [("refused", "3"), ("refused", "3"), ("refused", "2"), ("promoted", "3")]
    with pytest.raises(GateRefused, match="no shadow report of version 3 against 3"):
        promote_if_agreed(registry, "tabular", "3", 0.5, min_requests=1)  # the report is stale


def test_a_failing_shadow_never_passes_and_a_moved_alias_is_a_conflict(
    registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry.shadow("tabular", "3")
    failing = summary(100, 0, 100)
    failing.failed = 1
    write(registry, "a", failing)
    with pytest.raises(GateRefused, match="the shadow failed 1 of the mirrored requests"):
        promote_if_agreed(registry, "tabular", "3", 0.5, min_requests=1)
    write(registry, "a", summary(100, 0, 100))
    read = gate_module.report

    def read_then_someone_moves(*args: object, **kwargs: object) -> object:
        found = read(*args, **kwargs)  # type: ignore[arg-type]
        Registry(registry.url).promote("tabular", "2")  # fault: a move in between
        return found

    monkeypatch.setattr(gate_module, "report", read_then_someone_moves)
    with pytest.raises(Conflict, match="points at 2, not 1"):
        promote_if_agreed(registry, "tabular", "3", 0.5, min_requests=1)
    assert registry.aliases("tabular")["production"] == "2"
