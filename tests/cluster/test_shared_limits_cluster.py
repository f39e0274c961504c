"""The rate limits of three replicas behind nginx, shared in Redis (issue 15): one client over its
limit is refused by every replica, and gets no more than its burst plus its rate across all of
them; while Redis is stopped for 10 s the asks are answered (fail-open) and every replica counts
the outage in /metrics."""

from __future__ import annotations

from collections import Counter

import pytest

from tests.cluster.conftest import BURST, RATE_PER_MINUTE, Cluster
from tests.cluster.load import Event, run_load
from tests.cluster.processes import metrics

pytestmark = [pytest.mark.slow, pytest.mark.cluster]

REDIS_FAILURES = "cultureqa_rate_limit_redis_failures_total"
GREEDY = "203.0.113.99"  # TEST-NET-3: one client, many connections


def test_one_client_gets_one_budget_from_all_replicas(cluster: Cluster) -> None:
    cluster.ensure_ready()
    before = {r.name: metrics(r.url) for r in cluster.replicas}
    # Eight connections at once from one address: far more asks than its rate allows.
    load = run_load(cluster.url, 8, 8.0, addresses=lambda _: GREEDY)
    print(load.summary())
    # Redis answered every check (else the replicas limit alone, fail-open: not this test).
    for replica in cluster.replicas:
        failed = metrics(replica.url)[REDIS_FAILURES] - before[replica.name][REDIS_FAILURES]
        assert failed == 0, f"{replica.name}: {failed:g} checks could not use Redis"
    outcomes = load.outcomes
    statuses = Counter(o.status for o in outcomes)
    assert set(statuses) == {200, 429}, statuses
    refused_by = {o.answered_by for o in outcomes if o.status == 429}
    assert refused_by == {r.address for r in cluster.replicas}
    allowed_by = {o.answered_by for o in outcomes if o.status == 200}
    assert len(allowed_by) > 1  # the budget was spent on more than one replica
    # What a token bucket gives in the window: the burst, and the rate over the window.
    window = max(o.sent + o.took for o in outcomes) - min(o.sent for o in outcomes)
    budget = BURST + RATE_PER_MINUTE / 60 * window
    print(f"{statuses[200]} allowed in {window:.1f} s, budget {budget:.1f}")
    assert BURST <= statuses[200] <= budget + 1


def test_asks_are_answered_while_redis_is_stopped(cluster: Cluster) -> None:
    cluster.ensure_ready()
    before = {r.name: metrics(r.url) for r in cluster.replicas}
    load = run_load(
        cluster.url,
        10,
        16.0,
        [
            Event(3.0, "redis stopped", cluster.redis.stop),
            Event(13.0, "redis started", cluster.redis.start),
        ],
        # Each client at half its budget: with Redis up none is over its limit, however fast
        # the machine, so any refusal would be the outage's doing.
        interval=2 * 60 / RATE_PER_MINUTE,
    )
    print(load.summary())
    assert Counter(o.status for o in load.outcomes) == {200: len(load.outcomes)}
    stopped, _ = load.events["redis stopped"]
    _, started = load.events["redis started"]
    during = [o for o in load.outcomes if stopped < o.sent and o.sent + o.took < started]
    assert {o.answered_by for o in during} == {r.address for r in cluster.replicas}

    for replica in cluster.replicas:
        now, then = metrics(replica.url), before[replica.name]
        outages = now["cultureqa_rate_limit_redis_outages_total"]
        failures = now[REDIS_FAILURES]
        print(f"{replica.name}: outages {outages:g}, checks without Redis {failures:g}")
        assert outages >= then["cultureqa_rate_limit_redis_outages_total"] + 1
        assert failures > then[REDIS_FAILURES]
        assert now["cultureqa_rate_limit_redis_up"] == 1.0  # back on Redis after it returned
