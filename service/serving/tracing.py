"""OpenTelemetry spans of inference: the request, its wait in the queue, its batch, the run.

On with `FERRY_TRACE_INFERENCE=true`; spans go to the tracer provider BentoML builds
from its `tracing` settings (exporter, sample rate). A caller's W3C `traceparent`
(an HTTP header, or gRPC metadata) is the parent of the request span, and a sampled
caller is always followed.

A batch serves several requests, each in its own trace. Each request gets a `queue`
span (joining the queue → its batch starting) under its own request span; the
`batch` span is a child of the oldest traced request in it and carries a link to
every traced request's span; `session.run` is the batch span's child. So the
caller of a lone request finds all three in its trace, and the others reach the
batch through its links.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from opentelemetry import propagate, trace
from opentelemetry.trace import Link, Span, SpanKind, Status, StatusCode

__all__ = ["BatchTrace", "Tracing"]


class Tracing:
    """Opens the spans; the batcher calls `capture` and `batch` (`BatchTracer`)."""

    def __init__(self, tracer: trace.Tracer) -> None:
        self.tracer = tracer

    @classmethod
    def from_provider(cls, provider: Any) -> Tracing:
        return cls(trace.get_tracer("ferry", tracer_provider=provider))

    @contextmanager
    def request(
        self, name: str, carrier: Mapping[str, str], attributes: dict[str, str]
    ) -> Iterator[Span]:
        """The server span of one request, a child of the caller's `traceparent` if any.

        It is the current span inside the block, so the batcher captures it."""
        parent = propagate.extract(carrier)
        with self.tracer.start_as_current_span(
            name, context=parent, kind=SpanKind.SERVER, attributes=attributes
        ) as span:
            yield span

    def capture(self) -> Span | None:
        """The current request's span, if it is recorded (sampled)."""
        span = trace.get_current_span()
        return span if span.is_recording() else None

    def batch(
        self, name: str, requests: Sequence[tuple[object | None, float]]
    ) -> BatchTrace | None:
        """Queue spans for the traced requests and the batch span linked to them.

        `requests` holds (captured span, `perf_counter` when queued) per request.
        """
        traced = [(span, at) for span, at in requests if isinstance(span, Span)]
        if not traced:
            return None
        now_ns, now = time.time_ns(), time.perf_counter()
        model, _, version = name.partition(":")
        about = {"ferry.model": model, "ferry.model_version": version}
        for span, queued_at in traced:
            queued_ns = now_ns - int((now - queued_at) * 1e9)
            parent = trace.set_span_in_context(span)
            self.tracer.start_span(
                "queue", context=parent, start_time=queued_ns, attributes=about
            ).end(end_time=now_ns)
        batch = self.tracer.start_span(
            "batch",
            context=trace.set_span_in_context(traced[0][0]),
            links=[Link(span.get_span_context()) for span, _ in traced],
            start_time=now_ns,
            attributes={**about, "ferry.batch.requests": len(requests)},
        )
        return BatchTrace(self.tracer, batch)


class BatchTrace:
    """One batch's span; `run` opens `session.run` under it (in whatever thread runs)."""

    def __init__(self, tracer: trace.Tracer, span: Span) -> None:
        self.tracer = tracer
        self.span = span

    def run(self) -> AbstractContextManager[object]:
        return self.tracer.start_as_current_span(
            "session.run", context=trace.set_span_in_context(self.span)
        )

    def end(self, error: BaseException | None = None) -> None:
        if error is not None:
            self.span.record_exception(error)
            self.span.set_status(Status(StatusCode.ERROR, str(error)))
        self.span.end()
