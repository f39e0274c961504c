"""An LTI 1.3 platform for the tests, as Canvas or Moodle would be: its own RSA keys (rotated on
demand), its JWKS on a loopback port, an OIDC authorization endpoint that answers with a signed
id_token in an auto-posted form, a course page that frames the tool, and a deep-linking return
URL that verifies the tool's signed response against the tool's JWKS.

The issuer is http://localhost:PORT while the tool runs on 127.0.0.1: two sites, so the tool
is a third party in the course page's iframe, as in a real LMS."""

from __future__ import annotations

import json
import secrets
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from cultureqa.lti import claims

CLIENT_ID = "cultureqa-tool-1"
DEPLOYMENT_ID = "deployment-1"
LEARNER_ROLE = claims.MEMBERSHIP + "Learner"
INSTRUCTOR_ROLE = claims.MEMBERSHIP + "Instructor"


@dataclass
class SigningKey:
    kid: str
    private: rsa.RSAPrivateKey

    def jwk(self) -> dict[str, Any]:
        public: dict[str, Any] = RSAAlgorithm.to_jwk(self.private.public_key(), as_dict=True)
        return {**public, "kid": self.kid, "alg": "RS256", "use": "sig"}


def new_key() -> SigningKey:
    return SigningKey(
        f"platform-{secrets.token_hex(4)}",
        rsa.generate_private_key(public_exponent=65537, key_size=2048),
    )


@dataclass
class DeepLinkResult:
    """What the platform made of a deep-linking response it received."""

    claims: dict[str, Any]
    items: list[dict[str, Any]]


@dataclass
class Emulator:
    port: int
    tool_url: str = ""  # the tool's base URL, http://127.0.0.1:PORT
    keys: list[SigningKey] = field(default_factory=lambda: [new_key()])
    published: list[SigningKey] = field(default_factory=list)
    jwks_fetches: int = 0
    deep_links: list[DeepLinkResult] = field(default_factory=list)
    deep_link_errors: list[str] = field(default_factory=list)
    # What deep linking placed in each course: its custom parameters, sent with each launch.
    placements: dict[str, dict[str, str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.published = list(self.keys)

    @property
    def issuer(self) -> str:
        return f"http://localhost:{self.port}"

    @property
    def signing(self) -> SigningKey:
        return self.keys[-1]

    def rotate(self, keep_old: bool = False) -> SigningKey:
        """A new signing key; the JWKS publishes it (and the old one too with keep_old)."""
        key = new_key()
        self.keys.append(key)
        self.published = [*self.published, key] if keep_old else [key]
        return key

    def registration(self) -> dict[str, Any]:
        """What the owner registers: `cultureqa lti add-platform` or POST /admin/lti/platforms."""
        return {
            "issuer": self.issuer,
            "client_id": CLIENT_ID,
            "auth_url": f"{self.issuer}/auth",
            "token_url": f"{self.issuer}/token",
            "jwks_url": f"{self.issuer}/jwks",
            "deployment_ids": [DEPLOYMENT_ID],
        }

    # long: the whole claim set of a launch, written out as a platform sends it
    def launch_claims(
        self,
        nonce: str,
        *,
        user: str = "learner-1",
        course: str = "course-history",
        role: str = "learner",
        deep_linking: bool = False,
        custom: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        now = int(time.time())
        roles = [INSTRUCTOR_ROLE] if role == "instructor" else [LEARNER_ROLE]
        found: dict[str, Any] = {
            "iss": self.issuer,
            "aud": CLIENT_ID,
            "azp": CLIENT_ID,
            "sub": user,
            "iat": now,
            "exp": now + 300,
            "nonce": nonce,
            "name": "Ada Lovelace",
            "email": "ada@example.edu",
            claims.VERSION: "1.3.0",
            claims.DEPLOYMENT_ID: DEPLOYMENT_ID,
            claims.ROLES: roles,
            claims.CONTEXT: {"id": course, "title": f"Course {course}", "label": course},
            claims.TARGET_LINK_URI: f"{self.tool_url}/lti/launch",
        }
        if deep_linking:
            found[claims.MESSAGE_TYPE] = claims.DEEP_LINKING_REQUEST
            found[claims.DEEP_LINKING_SETTINGS] = {
                "deep_link_return_url": f"{self.issuer}/deep-link-return",
                "accept_types": ["ltiResourceLink"],
                "accept_presentation_document_targets": ["iframe"],
                "data": f"course:{course}",
            }
        else:
            found[claims.MESSAGE_TYPE] = claims.RESOURCE_LINK_REQUEST
            found[claims.RESOURCE_LINK] = {"id": f"link-{course}"}
        custom = custom if custom is not None else self.placements.get(course)
        if custom and not deep_linking:
            found[claims.CUSTOM] = custom
        return found

    def sign(
        self,
        payload: dict[str, Any],
        *,
        key: SigningKey | None = None,
        kid: str | None = None,
    ) -> str:
        key = key or self.signing
        return jwt.encode(payload, key.private, algorithm="RS256", headers={"kid": kid or key.kid})

    def login_query(
        self, *, user: str, course: str, role: str, deep_linking: bool, storage: bool = False
    ) -> str:
        """The parameters of the third-party initiated login the platform starts; with
        `storage`, it offers its client-side storage (its page, the iframe's parent)."""
        hint = json.dumps(
            {"course": course, "role": role, "deep": deep_linking, "storage": storage}
        )
        query = {
            "iss": self.issuer,
            "login_hint": user,
            "lti_message_hint": hint,
            "target_link_uri": f"{self.tool_url}/lti/launch",
            "client_id": CLIENT_ID,
            "lti_deployment_id": DEPLOYMENT_ID,
        }
        if storage:
            query["lti_storage_target"] = "_parent"
        return urlencode(query)

    def authorize(self, query: dict[str, str]) -> tuple[str, dict[str, str]]:
        """The authorization endpoint: checks the tool's request, then where to post what."""
        expected = {
            "scope": "openid",
            "response_type": "id_token",
            "response_mode": "form_post",
            "prompt": "none",
            "client_id": CLIENT_ID,
        }
        wrong = {k: query.get(k) for k, v in expected.items() if query.get(k) != v}
        if wrong:
            raise ValueError(f"bad authorization request: {wrong}")
        if query.get("redirect_uri") != f"{self.tool_url}/lti/launch":
            raise ValueError(f"unregistered redirect_uri {query.get('redirect_uri')}")
        hint = json.loads(query["lti_message_hint"])
        payload = self.launch_claims(
            query["nonce"],
            user=query["login_hint"],
            course=hint["course"],
            role=hint["role"],
            deep_linking=hint["deep"],
        )
        fields = {"id_token": self.sign(payload), "state": query["state"]}
        if hint.get("storage"):
            fields["lti_storage_target"] = "_parent"
        return query["redirect_uri"], fields

    def verify_deep_link(self, token: str, jwks: dict[str, Any] | None = None) -> DeepLinkResult:
        """As the platform does: the tool's key from its JWKS (fetched, unless given), aud =
        the platform's issuer, iss = the tool's client id, the message type, the deployment,
        the data it sent, and the items."""
        if jwks is None:
            with urllib.request.urlopen(f"{self.tool_url}/lti/jwks", timeout=10) as answer:
                jwks = json.load(answer)
        kid = jwt.get_unverified_header(token)["kid"]
        key = jwt.PyJWKSet.from_dict(jwks)[kid].key
        found: dict[str, Any] = jwt.decode(
            token, key, algorithms=["RS256"], audience=self.issuer, issuer=CLIENT_ID
        )
        assert found[claims.MESSAGE_TYPE] == claims.DEEP_LINKING_RESPONSE
        assert found[claims.VERSION] == "1.3.0"
        assert found[claims.DEPLOYMENT_ID] == DEPLOYMENT_ID
        assert str(found[claims.DL_DATA]).startswith("course:")  # the data it sent, echoed
        result = DeepLinkResult(found, list(found[claims.CONTENT_ITEMS]))
        self.placements[found[claims.DL_DATA].removeprefix("course:")] = dict(
            result.items[0].get("custom") or {}
        )
        return result


def _course_page(emulator: Emulator, query: dict[str, str]) -> str:
    """The LMS's course page: the tool in an iframe, started by a form the platform posts to
    the tool's login initiation URL (the POST variant of the third-party login)."""
    login = parse_qs(
        emulator.login_query(
            user=query.get("user", "learner-1"),
            course=query.get("course", "course-history"),
            role=query.get("role", "learner"),
            deep_linking=query.get("deep") == "1",
            storage=query.get("storage") == "1",
        )
    )
    # LTI Client Side postMessages, the platform's side: a store answering the tool's frame.
    storage = (
        "<script>const store = {}; window.addEventListener('message', (event) => {"
        f"if (event.origin !== {json.dumps(emulator.tool_url)}) return;"
        "const m = event.data || {}; let value;"
        "if (m.subject === 'lti.put_data') { store[m.key] = m.value; value = m.value; }"
        "else if (m.subject === 'lti.get_data') { value = store[m.key]; } else return;"
        "event.source.postMessage({subject: m.subject + '.response', message_id: m.message_id,"
        " key: m.key, value: value}, event.origin); });</script>"
        if query.get("storage") == "1"
        else ""
    )
    inputs = "".join(
        f'<input type="hidden" name="{escape(k)}" value="{escape(v[0], quote=True)}">'
        for k, v in login.items()
    )
    return (
        f"<!doctype html><html><head><title>Emulated LMS</title>{storage}</head><body>"
        f"<h1>Emulated LMS: {escape(query.get('course', ''))}</h1>"
        '<iframe name="tool" id="tool" width="860" height="680"></iframe>'
        f'<form id="start" method="post" target="tool" action="{emulator.tool_url}/lti/login">'
        f"{inputs}</form><script>document.getElementById('start').submit();</script>"
        "</body></html>"
    )


def _auto_post(action: str, fields: dict[str, str]) -> str:
    inputs = "".join(
        f'<input type="hidden" name="{escape(k)}" value="{escape(v, quote=True)}">'
        for k, v in fields.items()
    )
    return (
        f'<!doctype html><html><body><form id="f" method="post" action="{escape(action)}">'
        f"{inputs}</form><script>document.getElementById('f').submit();</script></body></html>"
    )


class _Handler(BaseHTTPRequestHandler):
    emulator: Emulator

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _send(self, status: int, body: str, kind: str = "text/html; charset=utf-8") -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        emulator = self.emulator
        if parts.path == "/jwks":
            emulator.jwks_fetches += 1
            keys = {"keys": [key.jwk() for key in emulator.published]}
            self._send(200, json.dumps(keys), "application/json")
        elif parts.path == "/course":
            self._send(200, _course_page(emulator, query))
        elif parts.path == "/auth":
            try:
                action, fields = emulator.authorize(query)
            except (ValueError, KeyError) as exc:
                self._send(400, f"<p id='error'>{escape(str(exc))}</p>")
                return
            self._send(200, _auto_post(action, fields))
        else:
            self._send(404, "not found")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        if urlsplit(self.path).path != "/deep-link-return":
            self._send(404, "not found")
            return
        try:
            result = self.emulator.verify_deep_link(form.get("JWT", ""))
        except Exception as exc:  # what a platform would show: the response is refused
            self.emulator.deep_link_errors.append(repr(exc))
            self._send(400, f"<p id='error'>{escape(repr(exc))}</p>")
            return
        self.emulator.deep_links.append(result)
        titles = ", ".join(str(item.get("title")) for item in result.items)
        self._send(200, f"<h1 id='added'>Added to the course: {escape(titles)}</h1>")


@contextmanager
def running_platform() -> Iterator[Emulator]:
    """The emulator on a free loopback port, for the `with` block."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    emulator = Emulator(port=server.server_address[1])
    handler = type("Handler", (_Handler,), {"emulator": emulator})
    server.RequestHandlerClass = handler
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield emulator
    finally:
        server.shutdown()
        server.server_close()
