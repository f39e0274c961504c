"""The cluster the tests here share: PostgreSQL, a redis-server of the tests' own, three
`cultureqa serve` replicas on loopback ports reading one index directory, and Debian's nginx in
front with deploy/nginx.conf's upstream, retries and timeouts.

PostgreSQL is the store tests' (CULTUREQA_TEST_DATABASE_URL, else a throwaway server from the
Debian binaries), a database of the cluster's own on it. Redis is always a throwaway
redis-server, never the machine's: a test stops it for a real outage. Started once for the
package (the replicas load the real model: the slow part), torn down after its last test."""

from __future__ import annotations

import json
import secrets
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, text

from cultureqa.store import schema
from cultureqa.store.database import make_engine
from cultureqa.testing import free_port
from tests.cluster.processes import (
    DEPLOY_NGINX,
    Nginx,
    Replica,
    metrics,
    nginx_prefix,
    proxy_config,
    replicas_for,
    wait_for,
)
from tests.redis_server import RedisServer, answers, spare_redis
from tests.store.conftest import postgres_admin, postgres_admin_url  # noqa: F401 - fixtures

REPLICAS = 3
# Per client, shared by the replicas through Redis. A load test's student asks about once a
# second (its answers take that long with 50 clients on two cores): far below the rate. The
# rate-limit test's one client asks many times faster.
RATE_PER_MINUTE = 600
BURST = 20
# The replicas' Redis timeouts (shared_limits.py: 0.25 s by default, a LAN's Redis that does
# not answer). Here two cores run three replicas, nginx, PostgreSQL, the clients and other
# work: a round trip can wait that long for a core, and each such wait would count as an
# outage and, fail-open, limit with the replica's own buckets. The URL overrides them.
REDIS_TIMEOUTS = "socket_timeout=0.5&socket_connect_timeout=0.5"
# Starting: three processes loading the model at once on a machine other work shares.
START_TIMEOUT_S = 300.0


@dataclass
class Cluster:
    replicas: list[Replica]
    nginx: Nginx
    redis: RedisServer
    database_url: str

    @property
    def url(self) -> str:
        """Where clients go: nginx."""
        return self.nginx.url

    def ensure_ready(self) -> None:
        """Every replica running and ready, Redis answering (what a test that stopped one of
        them left behind, should it have failed half-way)."""
        if not answers(self.redis.url):
            self.redis.start()
        for replica in self.replicas:
            if not replica.alive():
                replica.start()
        for replica in self.replicas:
            replica.wait_ready(START_TIMEOUT_S)

    def wait_until_logged(self, timeout: float = 120) -> None:
        """Until no live replica's question log has records waiting."""
        for replica in self.replicas:
            if replica.alive():
                written(replica, timeout)

    def logged_ask_ids(self) -> list[str]:
        """Every ask id in the question log (a list: a duplicate would show)."""
        engine = make_engine(self.database_url)
        try:
            with engine.connect() as connection:
                return list(connection.execute(select(schema.asks.c.id)).scalars())
        finally:
            engine.dispose()


def written(replica: Replica, timeout: float = 120) -> None:
    """Wait until the replica's question log has nothing waiting to be written."""

    def nothing_pending() -> bool:
        return metrics(replica.url)["cultureqa_question_log_pending"] == 0

    wait_for(f"{replica.name}'s question log written", nothing_pending, timeout)


@pytest.fixture(scope="package")
def cluster_database(postgres_admin: Engine) -> Iterator[str]:  # noqa: F811 - the fixture
    """An empty PostgreSQL database for the cluster; its URL."""
    name = f"cqa_cluster_{secrets.token_hex(4)}"
    with postgres_admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    yield postgres_admin.url.set(database=name).render_as_string(hide_password=False)
    with postgres_admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="package")
def cluster(
    tmp_path_factory: pytest.TempPathFactory, places_index: Path, cluster_database: str
) -> Iterator[Cluster]:
    base = tmp_path_factory.mktemp("cluster")
    (base / "redis").mkdir()
    with spare_redis(base / "redis") as redis:
        env = {
            "CULTUREQA_DATABASE_URL": cluster_database,
            "CULTUREQA_REDIS_URL": f"{redis.url}?{REDIS_TIMEOUTS}",
            "CULTUREQA_TRUSTED_PROXIES": json.dumps(["127.0.0.1"]),
            "CULTUREQA_RATE_LIMIT_PER_MINUTE": str(RATE_PER_MINUTE),
            "CULTUREQA_RATE_LIMIT_BURST": str(BURST),
        }
        replicas = replicas_for(REPLICAS, ["--index-dir", str(places_index)], env, base)
        prefix = nginx_prefix()
        nginx = Nginx(free_port(), prefix)
        try:
            for replica in replicas:
                replica.start()
            for replica in replicas:
                replica.wait_ready(START_TIMEOUT_S)
            site = proxy_config(
                DEPLOY_NGINX.read_text(encoding="utf-8"), [r.port for r in replicas], nginx.port
            )
            nginx.start(site)
            yield Cluster(replicas, nginx, redis, cluster_database)
        finally:
            nginx.stop()
            for replica in replicas:
                replica.stop()
            shutil.rmtree(prefix, ignore_errors=True)
