"""The question log's writer in /metrics: records written, dropped and failed, those pending,
outages, whether the database is up, and its spool (asks not spooled, asks replayed from the
spools of processes that stopped, and recovered), read at scrape time."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from cultureqa.store import LogStats


class QuestionLogCollector(Collector):
    """cultureqa_question_log_records_total{outcome}, _pending, _outages_total, _database_up,
    _spool_failures_total, _spool_replayed_total, _spool_recovered_total."""

    def __init__(self, stats: Callable[[], LogStats]) -> None:
        self._stats = stats

    def collect(self) -> Iterator[Metric]:
        stats = self._stats()
        records = CounterMetricFamily(
            "cultureqa_question_log_records",
            "Asks and feedback the question log took: written, dropped (its queue was full) or "
            "failed (the database refused them)",
            labels=["outcome"],
        )
        for outcome, count in (
            ("written", stats.written),
            ("dropped", stats.dropped),
            ("failed", stats.failed),
        ):
            records.add_metric([outcome], float(count))
        yield records
        yield GaugeMetricFamily(
            "cultureqa_question_log_pending",
            "Records queued for the question log's writer, not written yet",
            value=float(stats.pending),
        )
        yield CounterMetricFamily(
            "cultureqa_question_log_outages",
            "Times the question log's database could not be reached",
            value=float(stats.outages),
        )
        yield GaugeMetricFamily(
            "cultureqa_question_log_database_up",
            "1 when the question log's writer last reached its database, else 0",
            value=1.0 if stats.database_up else 0.0,
        )
        yield CounterMetricFamily(
            "cultureqa_question_log_spool_failures",
            "Asks that could not be appended to the question log's spool (disk full, read-only): "
            "answered and queued, but lost if the process is killed before they are written",
            value=float(stats.spool_failures),
        )
        yield CounterMetricFamily(
            "cultureqa_question_log_spool_replayed",
            "Asks read back from the spool files of processes that stopped before writing them",
            value=float(stats.spool_replayed),
        )
        yield CounterMetricFamily(
            "cultureqa_question_log_spool_recovered",
            "Replayed asks that were not in the database yet, written by the replay",
            value=float(stats.spool_recovered),
        )
