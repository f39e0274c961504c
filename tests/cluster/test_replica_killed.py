"""Issue 15's load test: 50 clients ask through nginx for 60 s; at 20 s one of the three replicas
is SIGKILLed, at 40 s it is started again. No client sees a failure or a 5xx (nginx passes the
asks the dead replica held on to another), and the question log in PostgreSQL holds, by ask
id, every answered ask once and nothing else: an ask passed on keeps its id (nginx's request
id), so one the dead replica had logged before dying is not logged again.

With one exception, which this test bounds rather than hides: a replica writes its question
log behind the answers (a queue and one writer, issue 14, so that an ask never waits for the
database), and SIGKILL takes the queue with it. The asks the killed replica answered in its
last moment (the writer gathers records for up to 0.1 s, then commits) are answered but never
logged: 0 to 17 of about 5,000 in the runs here, every one answered by that replica less than
half a second before it died."""

from __future__ import annotations

import time
from collections import Counter

import httpx
import pytest

from tests.cluster.conftest import START_TIMEOUT_S, Cluster
from tests.cluster.load import Event, run_load
from tests.cluster.processes import UPSTREAM_HEADER, Replica, metrics

pytestmark = [pytest.mark.slow, pytest.mark.cluster]

CLIENTS = 50
SECONDS = 60.0
KILL_AT = 20.0
RESTART_AT = 40.0
# How long before its death an answer of the killed replica may be and still be lost: the
# writer's linger (0.1 s) and a commit, under 0.5 s in the runs here; the rest is room for a
# machine whose other work stalls the writer.
LOST_WITHIN_S = 5.0
WRITTEN = 'cultureqa_question_log_records_total{outcome="written"}'


def ask_until_answered_by(cluster: Cluster, replica: Replica, asks: int = 60) -> dict[str, str]:
    """Ask through nginx until `replica` answers (at most `asks` times; nginx leaves a replica
    that failed alone for fail_timeout, 5 s, then tries it again). Returns each answer's ask
    id and the replica that gave it."""
    answered_by: dict[str, str] = {}
    with httpx.Client(timeout=30) as client:
        for _ in range(asks):
            response = client.post(f"{cluster.url}/ask", json={"question": "Kyoto food?"})
            assert response.status_code == 200, response.text
            answered_by[response.json()["ask_id"]] = response.headers[UPSTREAM_HEADER]
            if response.headers[UPSTREAM_HEADER] == replica.address:
                break
            time.sleep(0.25)
    return answered_by


def test_fifty_clients_while_a_replica_is_killed_and_restarted(cluster: Cluster) -> None:
    cluster.ensure_ready()
    cluster.wait_until_logged()
    before = set(cluster.logged_ask_ids())
    victim = cluster.replicas[1]

    load = run_load(
        cluster.url,
        CLIENTS,
        SECONDS,
        [Event(KILL_AT, "SIGKILL", victim.kill), Event(RESTART_AT, "restart", victim.start)],
    )
    print(load.summary())
    outcomes = load.outcomes

    failed = [o for o in outcomes if o.status != 200]
    assert not failed, f"{len(failed)} failed, e.g. {failed[:5]}\n{cluster.nginx.error_log()}"
    answers = Counter(o.answered_by for o in outcomes)
    assert set(answers) == {r.address for r in cluster.replicas}, answers
    _, killed = load.events["SIGKILL"]
    restarted, _ = load.events["restart"]
    assert not [
        o for o in outcomes if o.answered_by == victim.address and killed < o.sent < restarted
    ]
    victim.wait_ready(START_TIMEOUT_S)  # it came back, and nginx sends it asks again:
    after = ask_until_answered_by(cluster, victim)
    assert victim.address in after.values()
    again = sum(o.answered_by == victim.address and o.sent > restarted for o in outcomes)
    print(f"{victim.name} answered {answers[victim.address]} asks, {again} after its restart")

    cluster.wait_until_logged()
    for replica in cluster.replicas:
        found = metrics(replica.url)
        print(
            f"{replica.name}: checks without Redis "
            f"{found['cultureqa_rate_limit_redis_failures_total']:g}, question log written "
            f"{found[WRITTEN]:g}"
        )
    logged = [ask for ask in cluster.logged_ask_ids() if ask not in before]
    answered = {o.ask_id: o for o in outcomes}
    assert len(answered) == len(outcomes)  # one id per answer
    answered_after = set(after)  # the asks of ask_until_answered_by, logged too
    unlogged = [answered[ask] for ask in set(answered) - set(logged)]
    print(
        f"asks answered {len(answered)}, logged {len(logged)}, answered but not logged "
        f"{len(unlogged)} (by {victim.name}, answered at most "
        f"{max((killed - o.sent - o.took for o in unlogged), default=0.0):.2f} s before its death)"
    )
    assert len(logged) == len(set(logged))  # none twice
    assert set(logged) <= set(answered) | answered_after  # none that no client got
    assert answered_after <= set(logged)
    assert [o for o in unlogged if o.answered_by != victim.address] == []
    assert [o for o in unlogged if o.sent + o.took < killed - LOST_WITHIN_S] == []
