"""deploy/compose.yaml, the one-host deployment, parsed and checked (there is no Docker engine
here for `docker compose config`): the services and their images, the replicas, ports,
healthchecks and volumes, the settings every cultureqa container gets, and its nginx's limits
and retries."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from cultureqa.cli import worker as worker_command
from cultureqa.settings import Settings
from tests.helpers import REPO
from tests.test_deploy import directive, size

DEPLOY = REPO / "deploy"
COMPOSE = DEPLOY / "compose.yaml"
NGINX_SAMPLES = [DEPLOY / "nginx.conf", DEPLOY / "compose" / "nginx.conf"]
CULTUREQA_SERVICES = ["api", "builder"]
SETTING_NAMES = {f"CULTUREQA_{name.upper()}" for name in Settings.model_fields}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    parsed: dict[str, Any] = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    return parsed


def test_the_services_and_their_images(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == {"api", "builder", "nginx", "postgres", "redis"}
    for name in CULTUREQA_SERVICES:
        assert services[name]["image"].startswith("cultureqa:")
        assert services[name]["build"]["context"] == ".."  # the Dockerfile at the root
    for name, image in [("nginx", "nginx:"), ("postgres", "postgres:"), ("redis", "redis:")]:
        assert services[name]["image"].startswith(image)
        assert re.search(r":\d", services[name]["image"]), "a pinned major version"
    assert services["api"]["deploy"]["replicas"] == 3
    assert services["builder"]["deploy"]["replicas"] == 1


def test_only_nginx_is_published(compose: dict[str, Any]) -> None:
    published = {name: s.get("ports", []) for name, s in compose["services"].items()}
    assert published.pop("nginx") == ["8080:80"]
    assert all(ports == [] for ports in published.values())  # the rest only on `backend`


def test_every_service_has_a_healthcheck_and_waits_for_what_it_needs(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]
    for name, service in services.items():
        check = service["healthcheck"]["test"]
        assert check[0] == "CMD" and len(check) > 1, name
    api_check = " ".join(services["api"]["healthcheck"]["test"])
    assert "127.0.0.1:8000/ready" in api_check  # the port serve listens on
    for name in CULTUREQA_SERVICES:
        needs = services[name]["depends_on"]
        assert needs == {
            "postgres": {"condition": "service_healthy"},
            "redis": {"condition": "service_healthy"},
        }
    assert services["nginx"]["depends_on"]["api"]["condition"] == "service_healthy"


def test_the_volumes_are_shared_where_the_settings_look(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(compose["volumes"]) == {"data", "postgres"}
    for name in CULTUREQA_SERVICES:
        assert services[name]["volumes"] == ["data:/data"]
        env = services[name]["environment"]
        for setting in ("CULTUREQA_INDEX_DIR", "CULTUREQA_COLLECTIONS_DIR"):
            assert env[setting].startswith("/data/")
    assert services["postgres"]["volumes"] == ["postgres:/var/lib/postgresql/data"]
    nginx_conf = services["nginx"]["volumes"][0].split(":")[0]
    assert (DEPLOY / nginx_conf).is_file()


def test_the_settings_name_the_database_and_redis(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name in CULTUREQA_SERVICES:
        env = services[name]["environment"]
        assert set(env) <= SETTING_NAMES  # a misspelt setting would be ignored silently
        assert env["CULTUREQA_DATABASE_URL"].startswith("postgresql://cultureqa:${")
        assert "@postgres:5432/cultureqa" in env["CULTUREQA_DATABASE_URL"]
        assert env["CULTUREQA_REDIS_URL"] == "redis://redis:6379/0"
        assert env["CULTUREQA_BUILDER"] == "external"  # jobs through the database's table
        assert env["CULTUREQA_CORPUS_DIR"].startswith("/data/")  # uploads where the builder reads
    api = services["api"]["command"]
    assert api[:2] == ["cultureqa", "serve"]
    assert api[api.index("--port") + 1] == "8000"
    builder = services["builder"]["command"]
    assert builder[:2] == ["cultureqa", "worker"]
    options = {option for param in worker_command.params for option in param.opts}
    assert {word for word in builder[2:] if word.startswith("--")} <= options  # real options
    assert builder[builder.index("--health-port") + 1] == "8000"
    assert "127.0.0.1:8000/health" in " ".join(services["builder"]["healthcheck"]["test"])
    # The password comes from the environment (deploy/.env), the same for both sides.
    assert "${POSTGRES_PASSWORD" in services["postgres"]["environment"]["POSTGRES_PASSWORD"]
    trusted = services["api"]["environment"]["CULTUREQA_TRUSTED_PROXIES"]
    nginx_address = services["nginx"]["networks"]["backend"]["ipv4_address"]
    assert trusted == f'["{nginx_address}"]'


@pytest.mark.parametrize("sample", NGINX_SAMPLES, ids=lambda p: str(p.relative_to(DEPLOY)))
def test_nginx_retries_another_replica_with_the_server_s_limits(sample: Path) -> None:
    text = sample.read_text(encoding="utf-8")
    settings = Settings()
    assert directive("client_header_timeout", text) == [f"{settings.header_timeout:g}s"]
    assert directive("client_body_timeout", text) == [f"{settings.body_timeout:g}s"]
    count, buffer = directive("large_client_header_buffers", text)[0].split()
    assert int(count) * size(buffer) == settings.max_header_bytes
    assert size(directive("client_max_body_size", text)[0]) == settings.max_request_bytes
    # /admin/ and the rest; /ask alone is passed on even once sent (tests/cluster kills a
    # replica mid-ask).
    retries = directive("proxy_next_upstream", text)
    assert retries == ["error timeout", "error timeout non_idempotent", "error timeout"]
    assert "location = /ask {" in text
    # ...with its request id, which the replicas make the ask's id: logged once, passed on.
    assert directive("proxy_set_header X-Request-ID", text) == ["$request_id"]
    upstream = re.search(r"upstream cultureqa \{(.*?)\}", text, flags=re.DOTALL)
    assert upstream is not None
    servers = directive("server", upstream.group(1))
    assert len(servers) == 3 or "resolve" in servers[0]  # three replicas, or all `api` has
