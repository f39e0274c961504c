"""The platforms (LMSs) the owner registered: issuer, the client id the platform gave the tool,
its login, token and JWKS URLs, and the deployment ids launches may name."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

from sqlalchemy import Engine, delete, insert, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from cultureqa.errors import InvalidRequestError, StoreUnavailableError
from cultureqa.store.database import for_writing
from cultureqa.store.schema import lti_courses, lti_deployments, lti_logins, lti_platforms

LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "::1"}
MAX_ID_CHARS = 255


@dataclass(frozen=True)
class Platform:
    id: int
    issuer: str
    client_id: str
    auth_url: str
    token_url: str
    jwks_url: str
    deployment_ids: frozenset[str]

    def origins(self) -> set[str]:
        """The origins of its issuer and login URL: where its pages (which frame the tool)
        most likely are."""
        return {origin_of(self.issuer), origin_of(self.auth_url)} - {""}


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower() if parts.scheme and parts.netloc else ""


def check_url(url: str, what: str) -> str:
    """An https URL, or http on a loopback host (a platform on this machine, for trying it
    out): tokens and keys never travel in clear over a network."""
    parts = urlsplit(url.strip())
    secure = parts.scheme == "https" or (
        parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS
    )
    if not secure or not parts.hostname or any(c.isspace() for c in url.strip()):
        raise InvalidRequestError(
            f"{what} must be an https URL (http only on localhost), not {url!r}"
        )
    return url.strip()


def check_id(value: str, what: str) -> str:
    value = value.strip()
    if not value or len(value) > MAX_ID_CHARS:
        raise InvalidRequestError(f"{what} must be 1-{MAX_ID_CHARS} characters")
    return value


def _store_error(exc: SQLAlchemyError) -> StoreUnavailableError:
    return StoreUnavailableError(
        f"the LTI registry cannot be read or written: {exc.__class__.__name__}: "
        f"{str(getattr(exc, 'orig', None) or exc).strip().splitlines()[0][:200]}",
        hint="check CULTUREQA_DATABASE_URL, and run `cultureqa db upgrade`",
    )


# long: one upsert across two tables, in one transaction, each statement spelled out
def add_platform(
    engine: Engine,
    *,
    issuer: str,
    client_id: str,
    auth_url: str,
    token_url: str,
    jwks_url: str,
    deployment_ids: Iterable[str],
) -> Platform:
    """Register a platform, or update the URLs of one registered with the same issuer and
    client id; the deployment ids are added to those it had. Raises InvalidRequestError for a
    URL that is not https (http only on loopback)."""
    issuer = check_url(issuer, "the issuer")
    client_id = check_id(client_id, "the client id")
    urls = {
        "auth_url": check_url(auth_url, "the login (auth) URL"),
        "token_url": check_url(token_url, "the token URL"),
        "jwks_url": check_url(jwks_url, "the JWKS URL"),
    }
    deployments = {check_id(d, "a deployment id") for d in deployment_ids}
    if not deployments:
        raise InvalidRequestError("name at least one deployment id")
    try:
        with for_writing(engine).begin() as connection:
            found = connection.execute(
                select(lti_platforms.c.id).where(
                    lti_platforms.c.issuer == issuer, lti_platforms.c.client_id == client_id
                )
            ).scalar()
            if found is None:
                found = connection.execute(
                    insert(lti_platforms)
                    .values(
                        issuer=issuer, client_id=client_id, created_at=datetime.now(UTC), **urls
                    )
                    .returning(lti_platforms.c.id)
                ).scalar_one()
            else:
                connection.execute(
                    update(lti_platforms).where(lti_platforms.c.id == found).values(**urls)
                )
            known = set(
                connection.execute(
                    select(lti_deployments.c.deployment_id).where(
                        lti_deployments.c.platform_id == found
                    )
                ).scalars()
            )
            new = [{"platform_id": found, "deployment_id": d} for d in deployments - known]
            if new:
                connection.execute(insert(lti_deployments), new)
    except IntegrityError as exc:  # two owners adding the same platform at once
        raise InvalidRequestError("the platform changed meanwhile; try again") from exc
    except SQLAlchemyError as exc:
        raise _store_error(exc) from exc
    platform = find_platform(engine, issuer, client_id)
    assert platform is not None  # noqa: S101 - written just above
    return platform


def list_platforms(engine: Engine) -> list[Platform]:
    """Every registered platform, by issuer."""
    return _read(engine, None, None)


def find_platform(engine: Engine, issuer: str, client_id: str | None) -> Platform | None:
    """The platform of this issuer and client id; with no client id, the issuer's only
    platform (None when it has several: the login must then name its client id)."""
    found = _read(engine, issuer, client_id)
    return found[0] if len(found) == 1 else None


def remove_platform(engine: Engine, issuer: str, client_id: str) -> bool:
    """Forget a platform, its deployments, logins and course bindings. False: none such."""
    try:
        with for_writing(engine).begin() as connection:
            ids = list(
                connection.execute(
                    select(lti_platforms.c.id).where(
                        lti_platforms.c.issuer == issuer, lti_platforms.c.client_id == client_id
                    )
                ).scalars()
            )
            # SQLite enforces ON DELETE CASCADE only with foreign keys on: delete them first.
            for table in (lti_courses, lti_logins, lti_deployments):
                connection.execute(delete(table).where(table.c.platform_id.in_(ids)))
            connection.execute(delete(lti_platforms).where(lti_platforms.c.id.in_(ids)))
    except SQLAlchemyError as exc:
        raise _store_error(exc) from exc
    return bool(ids)


def _read(engine: Engine, issuer: str | None, client_id: str | None) -> list[Platform]:
    query = select(lti_platforms).order_by(lti_platforms.c.issuer, lti_platforms.c.client_id)
    if issuer is not None:
        query = query.where(lti_platforms.c.issuer == issuer)
    if client_id is not None:
        query = query.where(lti_platforms.c.client_id == client_id)
    try:
        with engine.connect() as connection:
            rows = connection.execute(query).all()
            deployments: dict[int, set[str]] = {}
            for platform_id, deployment in connection.execute(
                select(lti_deployments.c.platform_id, lti_deployments.c.deployment_id).where(
                    lti_deployments.c.platform_id.in_([row.id for row in rows])
                )
            ):
                deployments.setdefault(platform_id, set()).add(deployment)
    except SQLAlchemyError as exc:
        raise _store_error(exc) from exc
    return [
        Platform(
            row.id,
            row.issuer,
            row.client_id,
            row.auth_url,
            row.token_url,
            row.jwks_url,
            frozenset(deployments.get(row.id, set())),
        )
        for row in rows
    ]
