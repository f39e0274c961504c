"""LTI 1.3 through the app (fake embedder, SQLite and PostgreSQL): a course placed by deep
linking, learner and instructor launches, the session that opens one collection only, and
every launch the issue says to refuse, each refused with a page saying why and nobody signed
in."""

from __future__ import annotations

import hashlib
import hmac
import html
import json
import re
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx2
import jwt
import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.engine import URL

from cultureqa.cli import cli
from cultureqa.http.app import create_app
from cultureqa.lti import claims
from cultureqa.lti.keys import RETIRED_KEY_GRACE, published_keys, rotate_keys, signing_key
from cultureqa.lti.launch import PlatformKeys
from cultureqa.lti.sessions import issue_course_session
from cultureqa.store import schema
from cultureqa.store.schema import lti_courses, lti_logins
from tests.helpers import FakeEmbedder
from tests.lti.conftest import ADMIN_KEY, TOOL, Lms, hidden, lti_settings, session_token, state_of
from tests.lti.platform import CLIENT_ID, Emulator, new_key


def ask(client: TestClient, token: str | None, collection: str | None) -> httpx2.Response:
    body: dict[str, Any] = {"question": "What did the Hanseatic League trade along?"}
    if collection is not None:
        body["collection"] = collection
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.post("/ask", json=body, headers=headers)


def refused(answer: httpx2.Response, reason: str) -> None:
    """A refusal: an HTML page that says why, no session in it, no cookie but the state's
    deletion."""
    assert answer.status_code in {401, 403, 409, 422}, answer.text
    assert answer.headers["content-type"].startswith("text/html")
    assert "This launch was refused" in answer.text
    assert reason in answer.text
    assert "data-token" not in answer.text and 'name="session"' not in answer.text
    for cookie in answer.headers.get_list("set-cookie"):
        assert "Max-Age=0" in cookie or "expires=Thu, 01 Jan 1970" in cookie, cookie


def test_deep_linking_places_the_chat_with_a_response_the_platform_verifies(
    lms: Lms, client: TestClient, platform: Emulator
) -> None:
    answer = lms.place("course-history", "history-101", title="Ask the League", accent="#0a0")

    assert answer.status_code == 200, answer.text
    response_jwt = hidden(answer.text, "JWT")
    assert 'action="http://localhost:' in answer.text and "data-autosubmit" in answer.text
    result = platform.verify_deep_link(response_jwt, client.get("/lti/jwks").json())
    assert result.claims["aud"] == platform.issuer and result.claims["iss"] == CLIENT_ID
    [item] = result.items
    assert item["type"] == "ltiResourceLink"
    assert item["url"] == "https://testserver/lti/launch"
    assert item["custom"] == {"title": "Ask the League", "accent": "#0a0"}
    assert item["title"] == "Ask the League"


def test_a_learner_launch_opens_the_chat_of_the_course_collection_only(
    lms: Lms, client: TestClient
) -> None:
    lms.place("course-history", "history-101")
    lms.place("course-geo", "geo-201")

    page = lms.launch_as(user="learner-7", course="course-history")

    assert page.status_code == 200, page.text
    assert 'data-collection="history-101"' in page.text
    assert 'id="insights"' not in page.text  # a learner sees no insights
    token = session_token(page.text)
    answered = ask(client, token, "history-101")
    assert answered.status_code == 200, answered.text
    assert answered.json()["collection"] == "history-101"
    assert "Hanseatic" in answered.json()["passages"][0]["text"]
    # Another course's collection, or the default one, is closed to this session.
    assert ask(client, token, "geo-201").status_code == 403
    assert ask(client, token, None).status_code == 403
    rated = client.post(
        "/feedback",
        json={"rating": "down", "question": "x", "collection": "geo-201"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert rated.status_code == 403
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    assert ask(client, forged, "history-101").status_code == 401


def test_an_instructor_launch_shows_the_course_insights_and_no_other_course(
    lms: Lms, client: TestClient
) -> None:
    lms.place("course-history", "history-101")
    lms.place("course-geo", "geo-201")
    learner = session_token(lms.launch_as(course="course-history").text)
    assert ask(client, learner, "history-101").status_code == 200
    state_of(client).question_log.flush()  # type: ignore[union-attr]

    page = lms.launch_as(user="teacher-1", course="course-history", role="instructor")

    assert page.status_code == 200, page.text
    assert 'data-collection="history-101"' in page.text
    assert "What the course asks (history-101)" in page.text
    assert '<strong id="asks">1</strong>' in page.text
    token = session_token(page.text)
    # The insights form carries the session; it names no collection and cannot be made to.
    again = client.post(
        "/lti/insights",
        data={"session": token, "collection": "geo-201", "since": str(date.today())},
    )
    assert again.status_code == 200 and "(history-101)" in again.text
    assert "geo-201" not in again.text
    geo = session_token(
        lms.launch_as(user="teacher-1", course="course-geo", role="instructor").text
    )
    other = client.post("/lti/insights", data={"session": geo})
    assert "(geo-201)" in other.text and '<strong id="asks">0</strong>' in other.text
    # A learner's session opens no insights; the owner's insights need an admin key.
    refused(client.post("/lti/insights", data={"session": learner}), "only the course")
    assert (
        client.get("/admin/insights", headers={"Authorization": f"Bearer {token}"}).status_code
        == 403
    )


def test_a_collection_taken_by_a_course_is_refused_to_another(lms: Lms) -> None:
    assert lms.place("course-history", "history-101").status_code == 200

    refused(lms.place("course-geo", "history-101"), "belongs to another course")
    # The first course keeps its collection: placing it again offers only that one.
    picker = lms.launch_as(
        user="teacher-1", course="course-history", role="instructor", deep_linking=True
    )
    assert "This course asks the collection <strong>history-101</strong>" in picker.text


def test_a_course_nobody_placed_the_tool_in_is_refused(lms: Lms) -> None:
    refused(lms.launch_as(course="course-unknown"), "this course has no collection yet")


def test_only_instructors_place_the_tool(lms: Lms) -> None:
    refused(lms.launch_as(deep_linking=True), "only the course&#x27;s instructors")


def expired(c: dict[str, Any]) -> None:
    c["iat"], c["exp"] = int(time.time()) - 900, int(time.time()) - 600


def rs256_with(private: Any) -> Callable[[Emulator, dict[str, Any]], str]:
    def sign(platform: Emulator, payload: dict[str, Any]) -> str:
        return jwt.encode(
            payload, private, algorithm="RS256", headers={"kid": platform.signing.kid}
        )

    return sign


def tampered(platform: Emulator, payload: dict[str, Any]) -> str:
    header, _body, signature = platform.sign(payload).split(".")
    other = platform.sign({**payload, "sub": "someone-else"}).split(".")[1]
    return f"{header}.{other}.{signature}"


def unknown_kid(platform: Emulator, payload: dict[str, Any]) -> str:
    return platform.sign(payload, key=new_key())


def unsigned(platform: Emulator, payload: dict[str, Any], alg: str) -> bytes:
    header = {"alg": alg, "typ": "JWT", "kid": platform.signing.kid}
    parts = [json.dumps(part).encode() for part in (header, payload)]
    return b".".join(jwt.utils.base64url_encode(part) for part in parts)


def alg_none(platform: Emulator, payload: dict[str, Any]) -> str:
    return unsigned(platform, payload, "none").decode() + "."


def hs256_public_key(platform: Emulator, payload: dict[str, Any]) -> str:
    """The classic confusion: HMAC keyed with the platform's public key, which anyone has."""
    public = platform.signing.private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    signed = unsigned(platform, payload, "HS256")
    signature = hmac.new(public, signed, hashlib.sha256).digest()
    return (signed + b"." + jwt.utils.base64url_encode(signature)).decode()


# (name, how the claims change, how the token is signed, what the refusal page says)
REFUSALS: list[tuple[str, Callable[[dict[str, Any]], None] | None, Any, str]] = [
    ("expired", expired, None, "the id_token has expired"),
    (
        "wrong aud",
        lambda c: c.update(aud="someone-else", azp="someone-else"),
        None,
        "no platform is registered with the issuer",
    ),
    (
        "aud has the tool, azp another",
        lambda c: c.update(aud=[CLIENT_ID, "x"], azp="x"),
        None,
        "no platform is registered with the issuer",
    ),
    (
        "unknown iss",
        lambda c: c.update(iss="https://evil.example"),
        None,
        "no platform is registered with the issuer",
    ),
    (
        "unknown deployment",
        lambda c: c.update({claims.DEPLOYMENT_ID: "rogue"}),
        None,
        "the deployment &#x27;rogue&#x27; is not registered",
    ),
    ("future iat", lambda c: c.update(iat=int(time.time()) + 3600), None, "dated in the future"),
    ("LTI 1.1 version", lambda c: c.update({claims.VERSION: "1.1"}), None, "not an LTI 1.3.0"),
    (
        "unknown message type",
        lambda c: c.update({claims.MESSAGE_TYPE: "LtiSubmissionReview"}),
        None,
        "message type",
    ),
    ("no course", lambda c: c.pop(claims.CONTEXT), None, "names no course"),
    ("tampered signature", None, tampered, "signature does not verify"),
    ("unknown kid", None, unknown_kid, "a key (&#x27;platform-"),
    ("alg none", None, alg_none, "algorithm &#x27;none&#x27; is not accepted"),
    (
        "HS256 with the public key",
        None,
        hs256_public_key,
        "algorithm &#x27;HS256&#x27; is not accepted",
    ),
    (
        "another key under the platform's kid",
        None,
        rs256_with(new_key().private),
        "signature does not verify",
    ),
]


@pytest.mark.parametrize(
    ("name", "change", "signer", "reason"), REFUSALS, ids=[r[0] for r in REFUSALS]
)
def test_a_bad_id_token_is_refused_and_signs_nobody_in(
    lms: Lms,
    platform: Emulator,
    name: str,
    change: Callable[[dict[str, Any]], None] | None,
    signer: Callable[[Emulator, dict[str, Any]], str] | None,
    reason: str,
) -> None:
    lms.place("course-history", "history-101")
    state, nonce = lms.login()
    payload = platform.launch_claims(nonce)
    if change is not None:
        change(payload)
    token = signer(platform, payload) if signer else platform.sign(payload)

    answer = lms.launch(token, state)

    refused(answer, reason)
    with state_of(lms.client).question_log.engine.connect() as connection:  # type: ignore[union-attr]
        used = connection.execute(select(lti_logins.c.used_at).where(lti_logins.c.state == state))
        assert used.scalar_one() is None  # a refused launch uses no login up


def test_a_replayed_launch_is_refused(lms: Lms, platform: Emulator) -> None:
    lms.place("course-history", "history-101")
    state, nonce = lms.login()
    token = platform.sign(platform.launch_claims(nonce))
    cookies = dict(lms.client.cookies)
    assert lms.launch(token, state).status_code == 200
    # The launch ended the login in this browser (its state cookie is gone)...
    refused(lms.launch(token, state), "no state cookie")
    # ...and someone who copied the cookie and the token cannot launch again with them.
    for name, value in cookies.items():
        lms.client.cookies.set(name, value)
    refused(lms.launch(token, state), "replayed nonce")


def test_a_nonce_of_another_login_is_refused(lms: Lms, platform: Emulator) -> None:
    lms.place("course-history", "history-101")
    state, _ = lms.login()
    _, other_nonce = lms.login()

    refused(lms.launch(platform.sign(platform.launch_claims(other_nonce)), state), "nonce")


def test_a_launch_without_this_browser_state_is_refused(
    lms: Lms, client: TestClient, platform: Emulator
) -> None:
    lms.place("course-history", "history-101")
    state, nonce = lms.login()
    token = platform.sign(platform.launch_claims(nonce))

    refused(client.post("/lti/launch", data={"id_token": token}), "carries no state")
    refused(lms.launch(token, "another-state"), "no state cookie")
    client.cookies.clear()  # another browser: the login's cookie is not there
    refused(lms.launch(token, state), "no state cookie")


def test_a_login_from_an_unknown_platform_is_refused(client: TestClient) -> None:
    answer = client.get("/lti/login", params={"iss": "https://evil.example", "login_hint": "x"})

    refused(answer, "no platform is registered with the issuer")
    assert not answer.headers.get_list("set-cookie")


def test_the_state_cookie_is_partitioned_and_works_cross_site(lms: Lms) -> None:
    query = lms.platform.login_query(
        user="u", course="course-history", role="learner", deep_linking=False
    )
    answer = lms.client.post(
        "/lti/login",
        content=query,
        headers={"content-type": "application/x-www-form-urlencoded"},
        follow_redirects=False,
    )

    assert answer.status_code == 302
    [cookie] = answer.headers.get_list("set-cookie")
    for attribute in ("HttpOnly", "Partitioned", "SameSite=none", "Secure", "Path=/lti/"):
        assert attribute.lower() in cookie.lower()


def test_a_platform_that_rotates_its_keys_keeps_launching(
    lms: Lms, client: TestClient, platform: Emulator
) -> None:
    lms.place("course-history", "history-101")
    state_of(client).lti.platform_keys = PlatformKeys(cooldown=0.5)  # type: ignore[union-attr]
    assert lms.launch_as().status_code == 200
    fetched = platform.jwks_fetches

    platform.rotate(keep_old=False)  # the old key is gone from the JWKS at once
    time.sleep(0.6)

    assert lms.launch_as().status_code == 200  # the new kid: the JWKS fetched again
    assert platform.jwks_fetches == fetched + 1
    assert lms.launch_as().status_code == 200  # and cached since
    assert platform.jwks_fetches == fetched + 1


def test_made_up_key_ids_do_not_make_the_tool_hammer_the_platform(
    lms: Lms, client: TestClient, platform: Emulator
) -> None:
    lms.place("course-history", "history-101")
    fetched = platform.jwks_fetches

    for _ in range(5):
        state, nonce = lms.login()
        forged = platform.sign(platform.launch_claims(nonce), key=new_key())
        refused(lms.launch(forged, state), "does not publish")

    assert platform.jwks_fetches <= fetched + 1  # once per cooldown at most


def test_the_tools_key_rotation_keeps_its_sessions_verifiable(
    lms: Lms, client: TestClient, platform: Emulator
) -> None:
    lms.place("course-history", "history-101")
    old_session = session_token(lms.launch_as().text)
    old_kid = jwt.get_unverified_header(old_session)["kid"]
    engine = state_of(client).question_log.engine  # type: ignore[union-attr]

    new = rotate_keys(engine)  # what `cultureqa lti keys --rotate` does

    published = [key["kid"] for key in client.get("/lti/jwks").json()["keys"]]
    assert published == [new.kid, old_kid]  # the signing key first, the retired one still there
    assert ask(client, old_session, "history-101").status_code == 200
    new_session = session_token(lms.launch_as().text)
    assert jwt.get_unverified_header(new_session)["kid"] == new.kid
    assert ask(client, new_session, "history-101").status_code == 200
    # Deep-linking responses are signed with the new key, and verify against the JWKS.
    answer = lms.place("course-history", "history-101")
    response_jwt = hidden(answer.text, "JWT")
    assert jwt.get_unverified_header(response_jwt)["kid"] == new.kid
    platform.verify_deep_link(response_jwt, client.get("/lti/jwks").json())
    # Past its grace the retired key is neither published nor accepted.
    later = datetime.now(UTC) + RETIRED_KEY_GRACE + timedelta(minutes=1)
    assert [k.kid for k in published_keys(engine, now=later)] == [new.kid]


def test_the_lti_user_is_kept_only_as_a_salted_hash(
    lms: Lms, client: TestClient, platform: Emulator
) -> None:
    lms.place("course-history", "history-101")
    page = lms.launch_as(user="learner-secret-sub")
    token = session_token(page.text)
    engine = state_of(client).question_log.engine  # type: ignore[union-attr]

    claims_of_session = jwt.decode(token, options={"verify_signature": False})
    dump = []
    with engine.connect() as connection:
        for table in schema.metadata.sorted_tables:
            dump += [repr(tuple(row)) for row in connection.execute(select(table))]
        bound_by = connection.execute(select(lti_courses.c.bound_by)).scalar_one()
    text = "\n".join(dump) + json.dumps(claims_of_session)
    for secret in ("learner-secret-sub", "teacher-1", "Ada Lovelace", "ada@example.edu"):
        assert secret not in text
    tool = state_of(client).lti
    assert tool is not None
    assert bound_by == tool.user_hash(platform.issuer, "teacher-1")
    assert claims_of_session["sub"] == tool.user_hash(platform.issuer, "learner-secret-sub")
    assert len(bound_by) == 64 and bound_by != hashlib.sha256(b"teacher-1").hexdigest()


def test_no_course_can_take_the_default_collection(lms: Lms) -> None:
    """The site's own collection: its insights are the owner's alone."""
    picker = lms.launch_as(user="teacher-1", role="instructor", deep_linking=True)
    assert 'value="history-101"' in picker.text and 'value="default"' not in picker.text

    refused(lms.place("course-history", "default"), "the site&#x27;s own")


def test_the_launch_options_cannot_open_another_collection(
    lms: Lms, client: TestClient, platform: Emulator
) -> None:
    lms.place("course-history", "history-101")
    state, nonce = lms.login()
    claims_ = platform.launch_claims(
        nonce, custom={"collection": "geo-201", "title": '<script>alert("x")</script>'}
    )
    claims_[claims.CONTEXT]["title"] = "<img src=x onerror=alert(1)>"

    page = lms.launch(platform.sign(claims_), state)

    assert page.status_code == 200
    assert 'data-collection="history-101"' in page.text and "geo-201" not in page.text
    assert "<script>alert" not in page.text and "<img src=x" not in page.text
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page.text


def test_the_pages_may_be_framed_by_the_platform_only(lms: Lms, platform: Emulator) -> None:
    lms.place("course-history", "history-101")

    page = lms.launch_as()

    policy = page.headers["content-security-policy"]
    assert (
        f"frame-ancestors 'self' http://localhost:* http://127.0.0.1:* {platform.issuer}" in policy
    )
    assert "script-src 'self';" in policy and "unsafe-inline" not in policy
    assert page.headers["cache-control"] == "no-store"


def test_with_platform_storage_the_login_puts_the_binding_and_the_launch_reads_it(
    lms: Lms, client: TestClient, platform: Emulator
) -> None:
    lms.place("course-history", "history-101")
    query = platform.login_query(
        user="u", course="course-history", role="learner", deep_linking=False, storage=True
    )
    login = client.get(f"/lti/login?{query}", follow_redirects=False)
    assert login.status_code == 200  # a page, which stores the binding, then goes on
    state = parse_qs(urlsplit(hidden_data(login.text, "next")).query)["state"][0]
    nonce = parse_qs(urlsplit(hidden_data(login.text, "next")).query)["nonce"][0]
    binding = hidden_data(login.text, "value")
    assert hidden_data(login.text, "origin") == platform.issuer
    assert hidden_data(login.text, "key") == f"cqa_state_{state}"
    client.cookies.clear()  # a browser that kept no cookie
    token = platform.sign(platform.launch_claims(nonce))
    fields = {"id_token": token, "state": state, "lti_storage_target": "_parent"}

    check = client.post("/lti/launch", data=fields)
    assert check.status_code == 200 and 'id="lti-storage-get"' in check.text
    assert "data-token" not in check.text

    own = {"Origin": "https://testserver"}
    refused(
        client.post("/lti/launch", data={**fields, "lti_storage_binding": binding}),
        "not posted by this tool",
    )
    refused(
        client.post("/lti/launch", data={**fields, "lti_storage_binding": "x"}, headers=own),
        "storage does not hold its state",
    )
    done = client.post("/lti/launch", data={**fields, "lti_storage_binding": binding}, headers=own)
    assert done.status_code == 200 and 'data-collection="history-101"' in done.text
    refused(
        client.post("/lti/launch", data={**fields, "lti_storage_binding": binding}, headers=own),
        "replayed nonce",
    )


def hidden_data(page: str, name: str) -> str:
    found = re.search(rf'data-{name}="([^"]*)"', page)
    assert found, f"no data-{name} in the page"
    return html.unescape(found.group(1))


def test_the_owner_lists_the_courses_and_frees_a_collection(
    lms: Lms, database_url: URL, monkeypatch: pytest.MonkeyPatch
) -> None:
    lms.place("course-history", "history-101")
    monkeypatch.setenv("CULTUREQA_DATABASE_URL", database_url.render_as_string(False))
    runner = CliRunner()

    listed = json.loads(runner.invoke(cli, ["lti", "courses", "--json"]).output)
    freed = runner.invoke(cli, ["lti", "unbind", "history-101"])
    again = runner.invoke(cli, ["lti", "unbind", "history-101"])

    assert [(c["course"], c["collection"]) for c in listed] == [("course-history", "history-101")]
    assert freed.exit_code == 0 and again.exit_code == 1
    refused(lms.launch_as(), "this course has no collection yet")
    assert lms.place("course-geo", "history-101").status_code == 200  # free for another


def test_in_key_mode_the_course_session_is_the_way_in(tmp_path: Path, platform: Emulator) -> None:
    """With API keys the public cannot ask at all; a launched page's session opens its
    course's collection, and only that one."""
    settings = lti_settings(tmp_path, f"sqlite:///{tmp_path / 'key-mode.db'}").model_copy(
        update={"api_keys": [SecretStr("an-api-key-for-other-clients-0123")]}
    )
    with TestClient(create_app(settings, embedder=FakeEmbedder()), base_url=TOOL) as client:
        added = client.post(
            "/admin/lti/platforms",
            json=platform.registration(),
            headers={"Authorization": f"Bearer {ADMIN_KEY}"},
        )
        assert added.status_code == 201
        lms = Lms(client, platform)
        lms.place("course-history", "history-101")
        token = session_token(lms.launch_as().text)

        assert ask(client, None, "history-101").status_code == 401
        assert ask(client, token, "history-101").status_code == 200
        assert ask(client, token, "geo-201").status_code == 403
        tool = state_of(client).lti
        assert tool is not None
        session = replace(tool.sessions.course(token), expires_at=int(time.time()) - 1)
        expired_session = issue_course_session(signing_key(tool.engine), session)
        answer = ask(client, expired_session, "history-101")
        assert answer.status_code == 401
        assert answer.json()["error"]["message"] == "the course session has expired"
