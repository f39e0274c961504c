"""The owner's LTI registry over HTTP: GET, POST and DELETE /admin/lti/platforms, behind the
admin keys (as `cultureqa lti add-platform`, `platforms` and `remove-platform` do)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response, status
from pydantic import BaseModel, Field

from cultureqa.errors import InvalidRequestError
from cultureqa.http.admin import ADMIN_ERRORS, require_admin_key
from cultureqa.http.lti import run
from cultureqa.http.schemas import error_responses
from cultureqa.http.state import StateDep
from cultureqa.lti.platforms import Platform, add_platform, list_platforms, remove_platform


class PlatformIn(BaseModel):
    """A platform to register (or whose URLs to update, and deployments to add)."""

    issuer: str = Field(description="The platform's issuer, e.g. https://canvas.instructure.com")
    client_id: str = Field(description="The client id the platform gave this tool.")
    auth_url: str = Field(description="The platform's OIDC authorization endpoint.")
    token_url: str = Field(description="The platform's OAuth2 token endpoint.")
    jwks_url: str = Field(description="The platform's public keys (JWKS).")
    deployment_ids: list[str] = Field(min_length=1, description="Deployment ids to accept.")


class PlatformOut(BaseModel):
    issuer: str
    client_id: str
    auth_url: str
    token_url: str
    jwks_url: str
    deployment_ids: list[str]

    @classmethod
    def of(cls, platform: Platform) -> PlatformOut:
        return cls(
            issuer=platform.issuer,
            client_id=platform.client_id,
            auth_url=platform.auth_url,
            token_url=platform.token_url,
            jwks_url=platform.jwks_url,
            deployment_ids=sorted(platform.deployment_ids),
        )


router = APIRouter(
    prefix="/admin/lti",
    tags=["admin"],
    dependencies=[Depends(require_admin_key)],
    responses={
        **ADMIN_ERRORS,
        **error_responses(
            {
                400: "The body is not JSON.",
                422: "A URL that is not https (http only on loopback), an empty id, no "
                "deployment id, or no such platform.",
                503: "The database cannot be reached.",
            }
        ),
    },
)


@router.get("/platforms", summary="The registered LTI platforms")
async def platforms(state: StateDep) -> list[PlatformOut]:
    found = await run(state, lambda tool: list_platforms(tool.engine))
    return [PlatformOut.of(p) for p in found]


@router.post("/platforms", status_code=status.HTTP_201_CREATED, summary="Register an LTI platform")
async def register_platform(body: PlatformIn, state: StateDep) -> PlatformOut:
    """Register a platform (Canvas, Moodle...), or update the URLs of one with the same issuer
    and client id and add deployment ids. The URLs must be https (http only on loopback)."""
    fields: dict[str, Any] = body.model_dump()
    added = await run(state, lambda tool: add_platform(tool.engine, **fields))
    return PlatformOut.of(added)


@router.delete(
    "/platforms", status_code=status.HTTP_204_NO_CONTENT, summary="Forget an LTI platform"
)
async def forget_platform(
    state: StateDep, issuer: Annotated[str, Query()], client_id: Annotated[str, Query()]
) -> Response:
    removed = await run(state, lambda tool: remove_platform(tool.engine, issuer, client_id))
    if not removed:
        raise InvalidRequestError("no platform is registered with that issuer and client id")
    return Response(status_code=status.HTTP_204_NO_CONTENT)
