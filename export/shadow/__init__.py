"""Shadow scoring's contract: the agreement summary that merges across replicas, its
documents in the registry, and the promotion gate on live traffic. numpy only.

The service mirrors requests and fills summaries (`service.serving.shadow`); the
command line reads them (`ferry models shadow-report`) and gates promotions on them
(`ferry models promote --if-agreement`).
"""

from __future__ import annotations

from export.shadow.gate import Verdict, judge, promote_if_agreed
from export.shadow.store import (
    ShadowRecord,
    ShadowReport,
    merged,
    records,
    replica_id,
    report,
    reports,
    save,
)
from export.shadow.summary import COSINE_EDGES, AgreementSummary, row_cosines

__all__ = [
    "COSINE_EDGES",
    "AgreementSummary",
    "ShadowRecord",
    "ShadowReport",
    "Verdict",
    "judge",
    "merged",
    "promote_if_agreed",
    "records",
    "replica_id",
    "report",
    "reports",
    "row_cosines",
    "save",
]
