"""Micro-batching in /metrics: the model's forward passes for questions, the questions in them
and the asks they served, read at scrape time (their ratios are the mean batch sizes)."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

from cultureqa.embedding.batching import BatchStats


class MicroBatchCollector(Collector):
    """cultureqa_embed_passes_total, cultureqa_embed_texts_total, cultureqa_embed_calls_total."""

    def __init__(self, stats: BatchStats) -> None:
        self._stats = stats

    def collect(self) -> Iterator[Metric]:
        stats = self._stats
        yield CounterMetricFamily(
            "cultureqa_embed_passes",
            "Batches of questions the model embedded (micro-batching)",
            value=float(stats.passes),
        )
        yield CounterMetricFamily(
            "cultureqa_embed_texts",
            "Texts (questions and follow-up contexts) in those batches",
            value=float(stats.texts),
        )
        yield CounterMetricFamily(
            "cultureqa_embed_calls",
            "Asks those batches served",
            value=float(stats.calls),
        )
