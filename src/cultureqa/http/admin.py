"""The admin API: manage a collection's articles and re-index it, behind admin keys."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request, status

from .catalog import (
    article_files,
    check_collection_name,
    delete_article,
    sources_of,
    store_article,
)
from .errors import ForbiddenError, PayloadTooLargeError, UnauthorizedError
from .ingest import IngestReport, ProgressCallback
from .schemas import ArticleFiles, CollectionOut, ErrorResponse, JobOut, StoredArticle
from .service import ingest_collection
from .settings import Settings

ADMIN_ERRORS: dict[int | str, dict[str, object]] = {
    401: {"model": ErrorResponse, "description": "No admin key was sent."},
    403: {"model": ErrorResponse, "description": "The key is wrong, or the admin API is off."},
    404: {"model": ErrorResponse, "description": "No such article file or job."},
    422: {"model": ErrorResponse, "description": "A bad collection name, file name or article."},
}


def admin_router(settings: Settings) -> APIRouter:
    def require_admin_key(authorization: Annotated[str | None, Header()] = None) -> None:
        """`Authorization: Bearer <key>`, compared in constant time with every configured key."""
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise UnauthorizedError("send an admin key as 'Authorization: Bearer <key>'")
        if not settings.admin_keys:
            raise ForbiddenError("the admin API is off: no admin keys are configured")
        given = token.strip().encode()
        matches = [
            hmac.compare_digest(given, key.get_secret_value().encode())
            for key in settings.admin_keys
        ]
        if not any(matches):
            raise ForbiddenError("wrong admin key")

    router = APIRouter(
        prefix="/admin",
        tags=["admin"],
        dependencies=[Depends(require_admin_key)],
        responses=ADMIN_ERRORS,
    )

    @router.get("/collections", response_model=list[CollectionOut], summary="List collections")
    def list_collections(request: Request) -> list[CollectionOut]:
        library = request.app.state.cultureqa.library
        library.refresh()
        return [CollectionOut(**s.__dict__) for s in library.status()]

    @router.get(
        "/collections/{collection}/articles",
        response_model=ArticleFiles,
        summary="List a collection's article files",
    )
    def list_articles(collection: str) -> ArticleFiles:
        check_collection_name(collection)
        return ArticleFiles(collection=collection, files=article_files(settings, collection))

    @router.put(
        "/collections/{collection}/articles/{file_name}",
        response_model=StoredArticle,
        status_code=status.HTTP_201_CREATED,
        summary="Upload or replace an article file (the raw file as the body)",
        responses={413: {"model": ErrorResponse, "description": "The file is too large."}},
    )
    async def put_article(collection: str, file_name: str, request: Request) -> StoredArticle:
        check_collection_name(collection)
        data = bytearray()
        async for chunk in request.stream():
            data.extend(chunk)
            if len(data) > settings.max_upload_bytes:
                raise PayloadTooLargeError(
                    f"article is larger than {settings.max_upload_bytes} bytes"
                )
        articles = store_article(settings, collection, file_name, bytes(data))
        return StoredArticle(
            collection=collection, file=file_name, bytes=len(data), articles=articles
        )

    @router.delete(
        "/collections/{collection}/articles/{file_name}",
        status_code=status.HTTP_204_NO_CONTENT,
        summary="Delete an article file (re-index to drop it from answers)",
    )
    def remove_article(collection: str, file_name: str) -> None:
        check_collection_name(collection)
        delete_article(settings, collection, file_name)

    @router.post(
        "/collections/{collection}/reindex",
        response_model=JobOut,
        status_code=status.HTTP_202_ACCEPTED,
        summary="Start re-indexing a collection from its articles, as a background job",
    )
    def reindex(collection: str, request: Request) -> JobOut:
        check_collection_name(collection)
        app_state = request.app.state.cultureqa
        embedder = app_state.embedder

        def work(progress: ProgressCallback) -> IngestReport:
            return ingest_collection(settings, embedder, collection, on_progress=progress)

        sources_of(settings, collection).mkdir(parents=True, exist_ok=True)
        job = app_state.jobs.submit(collection, work)
        return JobOut(**job.__dict__)

    @router.get("/jobs/{job_id}", response_model=JobOut, summary="A re-index job's progress")
    def get_job(job_id: str, request: Request) -> JobOut:
        job = request.app.state.cultureqa.jobs.get(job_id)
        return JobOut(**job.__dict__)

    return router
