"""LtiTool: the one LTI object a server holds. It ties the registry, the keys, the logins and
the sessions together over the question log's database; the HTTP routes call it and render
what it returns."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import jwt
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from cultureqa.errors import ConflictError, InvalidRequestError, StoreUnavailableError
from cultureqa.lti import claims, courses, keys, logins
from cultureqa.lti.deep_linking import chat_item, deep_linking_response
from cultureqa.lti.errors import LaunchRefusedError
from cultureqa.lti.launch import JWKS_COOLDOWN_S, Launch, PlatformKeys, validate_launch
from cultureqa.lti.platforms import (
    Platform,
    check_url,
    find_platform,
    list_platforms,
    origin_of,
)
from cultureqa.lti.sessions import (
    DEEP_LINK_SECONDS,
    SESSION_SECONDS,
    CourseSession,
    DeepLinkSession,
    SessionVerifier,
    issue_course_session,
    issue_deep_link_session,
)
from cultureqa.settings import COLLECTION_NAME_RULE, is_collection_name
from cultureqa.store.database import for_writing
from cultureqa.store.writes import database_salt

MAX_HINT_CHARS = 2000


@dataclass(frozen=True)
class LoginRedirect:
    url: str  # the platform's authorization endpoint, with the OIDC parameters
    state: str  # to bind to the browser (a cookie, or the platform's client-side storage)
    platform_origin: str  # of its authorization endpoint: where its storage frame answers


@dataclass(frozen=True)
class CoursePage:
    """What a resource-link launch opens: the course's collection, for a role."""

    token: str
    session: CourseSession
    course_title: str
    options: dict[str, str]
    platform: Platform


class LtiTool:
    def __init__(
        self,
        engine: Engine,
        salt: str | None = None,
        *,
        reserved: frozenset[str] = frozenset(),
        jwks_cooldown: float = JWKS_COOLDOWN_S,
    ) -> None:
        """`reserved`: collections no course may take (the default one: the public site's,
        whose insights are the owner's alone)."""
        self.engine = engine
        self._salt = salt
        self._reserved = reserved
        self.platform_keys = PlatformKeys(cooldown=jwks_cooldown)
        self.sessions = SessionVerifier(lambda: keys.published_keys(engine))

    def _signing_key(self) -> keys.ToolKey:
        key = keys.signing_key(self.engine)
        self.sessions.remember(key)
        return key

    def platforms(self) -> list[Platform]:
        return list_platforms(self.engine)

    def jwks(self) -> dict[str, Any]:
        """The tool's public keys; the first signing key is made on first use."""
        published = keys.published_keys(self.engine)
        if not published:
            published = [keys.signing_key(self.engine)]
        return keys.jwks(published)

    def user_hash(self, issuer: str, subject: str) -> str:
        """The LTI user as the tool keeps it: HMAC-SHA256 of (issuer, sub) under the salt
        (CULTUREQA_HASH_SALT, else the database's)."""
        return self._hmac(f"lti\0{issuer}\0{subject}")

    def _hmac(self, message: str) -> str:
        salt = self._salt
        if salt is None:
            try:
                with for_writing(self.engine).begin() as connection:
                    salt = self._salt = database_salt(connection)
            except SQLAlchemyError as exc:
                raise StoreUnavailableError("the database cannot be reached") from exc
        return hmac.new(salt.encode(), message.encode(), hashlib.sha256).hexdigest()

    def begin_login(self, fields: Mapping[str, str], launch_url: str) -> LoginRedirect:
        """OIDC third-party initiated login: a registered platform asks; the browser goes on
        to its authorization endpoint with a new state and nonce."""
        issuer = fields.get("iss", "")
        login_hint = fields.get("login_hint", "")
        if not issuer or not login_hint:
            raise LaunchRefusedError("the login request lacks iss or login_hint")
        platform = find_platform(self.engine, issuer, fields.get("client_id") or None)
        if platform is None:
            raise LaunchRefusedError(
                f"no platform is registered with the issuer {issuer!r}"
                + (" and this client id" if fields.get("client_id") else ""),
                hint="the owner registers platforms with `cultureqa lti add-platform`",
            )
        deployment = fields.get("lti_deployment_id")
        if deployment and deployment not in platform.deployment_ids:
            raise LaunchRefusedError(f"the deployment {deployment!r} is not registered")
        login = logins.begin_login(self.engine, platform.id)
        query = {
            "scope": "openid",
            "response_type": "id_token",
            "response_mode": "form_post",
            "prompt": "none",
            "client_id": platform.client_id,
            "redirect_uri": launch_url,
            "login_hint": login_hint[:MAX_HINT_CHARS],
            "state": login.state,
            "nonce": login.nonce,
        }
        if fields.get("lti_message_hint"):
            query["lti_message_hint"] = fields["lti_message_hint"][:MAX_HINT_CHARS]
        separator = "&" if "?" in platform.auth_url else "?"
        return LoginRedirect(
            f"{platform.auth_url}{separator}{urlencode(query)}",
            login.state,
            origin_of(platform.auth_url),
        )

    def storage_binding(self, state: str) -> str:
        """What the login puts in the platform's client-side storage for this state, and the
        launch must bring back from it: an HMAC of the state, which only the tool can make."""
        return self._hmac(f"lti-state\0{state}")

    def platform_origin(self, id_token: str) -> str | None:
        """The authorization endpoint's origin of the platform an id_token names (unverified:
        only to know where to ask its storage; the launch checks the token after)."""
        try:
            unverified = jwt.decode(id_token, options={"verify_signature": False})
        except jwt.PyJWTError:
            return None
        issuer, aud = unverified.get("iss"), unverified.get("aud")
        client = aud if isinstance(aud, str) else aud[0] if isinstance(aud, list) and aud else None
        if not isinstance(issuer, str) or not isinstance(client, str):
            return None
        platform = find_platform(self.engine, issuer, client)
        return origin_of(platform.auth_url) if platform else None

    def launch(self, id_token: str, state: str, browser_state: str | None) -> Launch:
        """The launch: the state the platform posted must be the one this browser's login
        stored; then every check of the id_token; then its login (and nonce) is used up."""
        if not state:
            raise LaunchRefusedError("the launch carries no state")
        if browser_state is None:
            raise LaunchRefusedError(
                "this browser started no login for this launch (no state cookie)",
                hint="launch the tool again from the course",
            )
        if not hmac.compare_digest(state.encode(), browser_state.encode()):
            raise LaunchRefusedError("the launch's state is not this browser's login's")
        launch = validate_launch(
            id_token, lambda iss, aud: find_platform(self.engine, iss, aud), self.platform_keys
        )
        logins.use_login(self.engine, state, launch.nonce, launch.platform.id)
        return launch

    def course_page(self, launch: Launch) -> CoursePage:
        """A resource-link launch: a session for the course's collection, as learner or
        instructor. Raises LaunchRefusedError when no instructor has placed the tool yet."""
        collection = courses.course_collection(self.engine, launch.platform.id, launch.context_id)
        if collection is None:
            raise LaunchRefusedError(
                "this course has no collection yet",
                hint="an instructor adds the tool to the course first (deep linking), "
                "choosing the course's collection",
            )
        session = CourseSession(
            collection=collection,
            role="instructor" if launch.instructor else "learner",
            user=self.user_hash(launch.platform.issuer, launch.subject),
            platform_id=launch.platform.id,
            course=launch.context_id,
            expires_at=int(time.time()) + SESSION_SECONDS,
        )
        token = issue_course_session(self._signing_key(), session)
        return CoursePage(token, session, launch.context_title, launch.custom, launch.platform)

    def deep_link_session(self, launch: Launch) -> str:
        """An instructor's deep-linking request: a session to finish it with (the choice of
        collection and options)."""
        if not launch.instructor:
            raise LaunchRefusedError("only the course's instructors can add the tool")
        return_url = launch.deep_linking.get("deep_link_return_url")
        if not isinstance(return_url, str):
            raise LaunchRefusedError("the deep-linking request has no return URL")
        data = launch.deep_linking.get("data")
        session = DeepLinkSession(
            platform_id=launch.platform.id,
            deployment_id=launch.deployment_id,
            course=launch.context_id,
            course_title=launch.context_title,
            user=self.user_hash(launch.platform.issuer, launch.subject),
            return_url=check_url(return_url, "the deep-linking return URL"),
            data=data if isinstance(data, str) else None,
            expires_at=int(time.time()) + DEEP_LINK_SECONDS,
        )
        return issue_deep_link_session(self._signing_key(), session)

    def course_collection(self, platform_id: int, course: str) -> str | None:
        return courses.course_collection(self.engine, platform_id, course)

    def free_collections(self, names: list[str]) -> list[str]:
        """Of these collections, those no course has taken (nor reserved)."""
        taken = courses.bound_collections(self.engine) | self._reserved
        return [name for name in names if name not in taken]

    def finish_deep_link(
        self, session: DeepLinkSession, collection: str, options: Mapping[str, str], url: str
    ) -> tuple[str, str]:
        """Bind the course to the collection and sign the response that places the chat:
        (the platform's return URL, the response JWT)."""
        if not is_collection_name(collection):
            raise InvalidRequestError(f"{collection!r}: {COLLECTION_NAME_RULE}")
        if collection in self._reserved:
            raise ConflictError(
                f"the collection {collection!r} is the site's own; no course can take it",
                hint="pick or create another collection",
            )
        platform = next((p for p in self.platforms() if p.id == session.platform_id), None)
        if platform is None:
            raise LaunchRefusedError("the platform is no longer registered")
        courses.bind_course(self.engine, platform.id, session.course, collection, session.user)
        title = options.get("title") or f"Ask about {session.course_title}"
        item = chat_item(url, title, options)
        jwt_ = deep_linking_response(
            keys.signing_key(self.engine), platform, session.deployment_id, [item], session.data
        )
        return session.return_url, jwt_

    def session_collection(self, token: str) -> str:
        """The collection a course session opens (UnauthorizedError for a bad one)."""
        return self.sessions.course(token).collection

    def is_deep_linking(self, launch: Launch) -> bool:
        return launch.message_type == claims.DEEP_LINKING_REQUEST
