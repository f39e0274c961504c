"""Registering platforms: `cultureqa lti add-platform` (and `platforms`, `remove-platform`,
`keys`) and the same through the admin API, stored in the database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from cultureqa.cli import cli
from cultureqa.lti.platforms import add_platform, list_platforms
from cultureqa.store.database import make_engine
from tests.lti.conftest import ADMIN_KEY
from tests.lti.platform import Emulator

ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
CANVAS = {
    "issuer": "https://canvas.instructure.com",
    "client_id": "10000000000001",
    "auth_url": "https://sso.canvaslms.com/api/lti/authorize_redirect",
    "token_url": "https://sso.canvaslms.com/login/oauth2/token",
    "jwks_url": "https://sso.canvaslms.com/api/lti/security/jwks",
    "deployment_ids": ["1:abc"],
}


def test_the_admin_api_registers_lists_and_forgets_platforms(
    client: TestClient, platform: Emulator
) -> None:
    added = client.post("/admin/lti/platforms", json=CANVAS, headers=ADMIN)
    assert added.status_code == 201, added.text
    again = client.post(
        "/admin/lti/platforms", json={**CANVAS, "deployment_ids": ["2:def"]}, headers=ADMIN
    )
    assert again.json()["deployment_ids"] == ["1:abc", "2:def"]  # added, not replaced

    listed = client.get("/admin/lti/platforms", headers=ADMIN).json()
    assert sorted(p["issuer"] for p in listed) == sorted([str(CANVAS["issuer"]), platform.issuer])

    gone = client.delete(
        "/admin/lti/platforms",
        params={"issuer": CANVAS["issuer"], "client_id": CANVAS["client_id"]},
        headers=ADMIN,
    )
    assert gone.status_code == 204
    assert len(client.get("/admin/lti/platforms", headers=ADMIN).json()) == 1


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({"jwks_url": "http://lms.example.edu/jwks"}, 422),  # keys in clear over a network
        ({"auth_url": "ftp://lms.example.edu/auth"}, 422),
        ({"deployment_ids": []}, 422),
        ({"client_id": ""}, 422),
    ],
)
def test_the_admin_api_refuses_unsafe_registrations(
    client: TestClient, change: dict[str, object], status: int
) -> None:
    assert (
        client.post("/admin/lti/platforms", json={**CANVAS, **change}, headers=ADMIN).status_code
        == status
    )


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong-key-0123456789abcdefgh"}])
def test_the_admin_api_needs_the_admin_key(client: TestClient, headers: dict[str, str]) -> None:
    assert client.get("/admin/lti/platforms", headers=headers).status_code in {401, 403}
    assert client.post("/admin/lti/platforms", json=CANVAS, headers=headers).status_code in {
        401,
        403,
    }


def test_the_cli_registers_a_platform_and_rotates_the_keys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'cultureqa.db'}"
    monkeypatch.setenv("CULTUREQA_DATABASE_URL", url)
    runner = CliRunner()
    options = [
        f"--{name.replace('_', '-')}={value}"
        for name, value in CANVAS.items()
        if name != "deployment_ids"
    ]

    added = runner.invoke(
        cli, ["lti", "add-platform", *options, "--deployment-id", "1:abc", "--deployment-id", "2:x"]
    )
    listed = runner.invoke(cli, ["lti", "platforms", "--json"])
    first = runner.invoke(cli, ["lti", "keys"])
    rotated = runner.invoke(cli, ["lti", "keys", "--rotate"])

    assert added.exit_code == 0, added.output
    assert "Registered https://canvas.instructure.com" in added.output
    [found] = json.loads(listed.output)
    assert found["deployment_ids"] == ["1:abc", "2:x"]
    assert found["jwks_url"] == CANVAS["jwks_url"]
    assert "New signing key" in first.output and first.output.count("  signing\n") == 1
    assert rotated.output.count("  retired ") == 1 and rotated.output.count("  signing\n") == 1
    engine = make_engine(url)
    try:
        assert [p.client_id for p in list_platforms(engine)] == [CANVAS["client_id"]]
    finally:
        engine.dispose()


def test_the_cli_refuses_a_plain_http_platform(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CULTUREQA_DATABASE_URL", f"sqlite:///{tmp_path / 'cultureqa.db'}")
    options = [f"--{k.replace('_', '-')}={v}" for k, v in CANVAS.items() if k != "deployment_ids"]

    done = CliRunner().invoke(
        cli,
        [
            "lti",
            "add-platform",
            *options,
            "--jwks-url=http://lms.example.edu/jwks",
            "--deployment-id=1",
        ],
    )

    assert done.exit_code == 1
    assert "the JWKS URL must be an https URL" in done.output


def test_adding_a_platform_twice_keeps_one(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'cultureqa.db'}")
    from cultureqa.store.migrate import upgrade_database

    upgrade_database(engine)
    try:
        for deployment in ("a", "b", "a"):
            add_platform(engine, **{**CANVAS, "deployment_ids": [deployment]})  # type: ignore[arg-type]
        [platform] = list_platforms(engine)
        assert platform.deployment_ids == {"a", "b"}
    finally:
        engine.dispose()


def test_canvas_reads_the_tools_configuration_from_one_url(client: TestClient) -> None:
    found = client.get("/lti/canvas.json").json()

    assert found["oidc_initiation_url"] == "https://testserver/lti/login"
    assert found["target_link_uri"] == "https://testserver/lti/launch"
    assert found["public_jwk_url"] == "https://testserver/lti/jwks"
    assert found["scopes"] == []
    [canvas] = found["extensions"]
    assert canvas["privacy_level"] == "anonymous"
    assert {p["message_type"] for p in canvas["settings"]["placements"]} == {
        "LtiDeepLinkingRequest"
    }
    assert client.get(found["public_jwk_url"]).json()["keys"]
