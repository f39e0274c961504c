"""Prometheus metrics: requests by route and status, latency, asks and no-answers, the
pending asks, and each collection's index version and size.

One registry per app (no process-wide globals), rendered at GET /metrics. With
`serve --workers N` each worker counts its own requests: a scrape reads one worker.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector

from cultureqa.search.library import CollectionStatus

StatusSource = Callable[[], list[CollectionStatus]]

# Seconds: a cached ask takes milliseconds, a queued one under load up to the time budget.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

CONTENT_TYPE = CONTENT_TYPE_LATEST


class _ServingCollector(Collector):
    """Read at scrape time: index version and passages per collection, asks pending."""

    def __init__(self, metrics: ServiceMetrics) -> None:
        self._metrics = metrics

    def collect(self) -> Iterator[Metric]:
        passages = GaugeMetricFamily(
            "cultureqa_index_passages", "Passages in the index served", labels=["collection"]
        )
        info = GaugeMetricFamily(
            "cultureqa_index_info",
            "The index version served (always 1; the version is a label)",
            labels=["collection", "version"],
        )
        source = self._metrics.status_source
        for status in source() if source else []:
            if status.version is None:
                continue
            passages.add_metric([status.name], float(status.passages or 0))
            info.add_metric([status.name, status.version], 1.0)
        yield passages
        yield info
        pending = self._metrics.pending_source
        if pending is not None:
            yield GaugeMetricFamily(
                "cultureqa_asks_pending",
                "Asks computing or waiting for a slot in this process",
                value=float(pending()),
            )


class ServiceMetrics:
    """The counters the middleware and the /ask handler update, and what /metrics renders."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.status_source: StatusSource | None = None
        self.pending_source: Callable[[], int] | None = None
        self.requests = Counter(
            "cultureqa_http_requests",
            "HTTP requests by route template, method and status",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "cultureqa_http_request_duration_seconds",
            "Time from request to the end of the response, by route template",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.asks = Counter(
            "cultureqa_asks",
            "Questions answered (200 from /ask)",
            ["collection"],
            registry=self.registry,
        )
        self.no_answers = Counter(
            "cultureqa_no_answers",
            "Answered questions whose response has `answer: null` (no answer in the index)",
            ["collection"],
            registry=self.registry,
        )
        self.registry.register(_ServingCollector(self))

    def observe_request(self, route: str, method: str, status: int, seconds: float) -> None:
        self.requests.labels(route, method, str(status)).inc()
        self.latency.labels(route).observe(seconds)

    def record_ask(self, response: object, collection: str) -> None:
        """Count an answered ask; a no-answer when the response has an `answer` field that is
        None. (Responses without the field, as before answers existed, never count as one.)"""
        self.asks.labels(collection).inc()
        if hasattr(response, "answer") and response.answer is None:
            self.no_answers.labels(collection).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)
