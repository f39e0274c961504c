"""The admin API: manage a collection's articles and re-index it, behind admin keys."""

from __future__ import annotations

import socket
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Request, status
from starlette.concurrency import run_in_threadpool

from cultureqa.corpus.loader import EXTENSIONS
from cultureqa.errors import ForbiddenError, PayloadTooLargeError, UnauthorizedError
from cultureqa.http.access import bearer_token, matching_key
from cultureqa.http.schemas import ArticleFiles, CollectionOut, ErrorResponse, JobOut, StoredArticle
from cultureqa.http.state import SettingsDep, StateDep
from cultureqa.index.collections import (
    check_collection_name,
    ingest_collection,
    recorded_sources,
    sources_of,
)
from cultureqa.index.ingest import IngestReport, ProgressCallback
from cultureqa.index.sources import article_files, delete_article, store_article
from cultureqa.store.jobs import JobRecord

UPLOAD_NAME_PATTERN = (
    r"^[A-Za-z0-9][A-Za-z0-9_-]{0,100}\.("
    + "|".join(sorted(ext.lstrip(".") for ext in EXTENSIONS))
    + ")$"
)

ADMIN_ERRORS: dict[int | str, dict[str, object]] = {
    401: {"model": ErrorResponse, "description": "No admin key was sent."},
    403: {"model": ErrorResponse, "description": "The key is wrong, or the admin API is off."},
    404: {"model": ErrorResponse, "description": "No such article file or job."},
    422: {"model": ErrorResponse, "description": "A bad collection name, file name or article."},
    429: {"model": ErrorResponse, "description": "Too many wrong keys from this address."},
}


async def require_admin_key(
    request: Request, state: StateDep, authorization: Annotated[str | None, Header()] = None
) -> None:
    """`Authorization: Bearer <key>`, compared in constant time with every configured key; a
    wrong one costs its sender a token of the rate limit (access.AskGuard.refuse_key)."""
    token = bearer_token(authorization)
    if token is None:
        raise UnauthorizedError("send an admin key as 'Authorization: Bearer <key>'")
    if not state.settings.admin_keys:
        raise ForbiddenError("the admin API is off: no admin keys are configured")
    keys = [key.get_secret_value().encode() for key in state.settings.admin_keys]
    if matching_key(token, keys) is None:
        state.guard.refuse_key(request, "wrong admin key")


router = APIRouter(
    prefix="/admin",
    tags=["admin"],
    dependencies=[Depends(require_admin_key)],
    responses=ADMIN_ERRORS,
)


@router.get("/collections", response_model=list[CollectionOut], summary="List collections")
def list_collections(state: StateDep) -> list[CollectionOut]:
    library = state.started_library()
    library.refresh()
    return [CollectionOut.from_status(s) for s in library.status()]


@router.get(
    "/collections/{collection}/articles",
    response_model=ArticleFiles,
    summary="List a collection's article files",
)
def list_articles(collection: str, settings: SettingsDep) -> ArticleFiles:
    check_collection_name(collection)
    own = sources_of(settings, collection).resolve()
    others = [s.name for s in recorded_sources(settings, collection) if s.resolve() != own]
    return ArticleFiles(
        collection=collection, files=article_files(settings, collection), other_sources=others
    )


@router.put(
    "/collections/{collection}/articles/{file_name}",
    response_model=StoredArticle,
    status_code=status.HTTP_201_CREATED,
    summary="Upload or replace an article file (the raw file as the body)",
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": "The article file as it is: Markdown, plain text, HTML, JSON Lines, "
            "or JSON (a SQuAD file or a Factbook profile).",
            "content": {
                "text/plain": {"schema": {"type": "string"}},
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
            },
        }
    },
    responses={
        409: {
            "model": ErrorResponse,
            "description": "An article id of the file is already used by another file of the "
            "collection (the message names it).",
        },
        413: {"model": ErrorResponse, "description": "The file is too large."},
    },
)
async def put_article(
    collection: str,
    file_name: Annotated[
        str,
        Path(
            description="A plain file name with an article extension; the extension picks the "
            "parser, as for `cultureqa ingest`.",
            # Schema only (the handler's own check answers 422 in our words): so that clients,
            # and schemathesis, send names of every supported type.
            json_schema_extra={"pattern": UPLOAD_NAME_PATTERN},
            openapi_examples={
                ext.lstrip("."): {"value": f"article{ext}"} for ext in sorted(EXTENSIONS)
            },
        ),
    ],
    request: Request,
    settings: SettingsDep,
) -> StoredArticle:
    check_collection_name(collection)
    data = bytearray()
    async for chunk in request.stream():
        data.extend(chunk)
        if len(data) > settings.max_upload_bytes:
            raise PayloadTooLargeError(f"article is larger than {settings.max_upload_bytes} bytes")
    # Parsing a large page takes seconds: on a worker thread, never on the event loop, so that
    # every other request (/health included) is still answered meanwhile.
    articles = await run_in_threadpool(store_article, settings, collection, file_name, bytes(data))
    return StoredArticle(collection=collection, file=file_name, bytes=len(data), articles=articles)


@router.delete(
    "/collections/{collection}/articles/{file_name}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete an article file (re-index to drop it from answers)",
)
def remove_article(collection: str, file_name: str, settings: SettingsDep) -> None:
    check_collection_name(collection)
    delete_article(settings, collection, file_name)


@router.post(
    "/collections/{collection}/reindex",
    response_model=JobOut,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Start re-indexing a collection from its articles, as a background job",
    description="With CULTUREQA_BUILDER=external the job goes into the database's job table "
    "and `cultureqa worker` runs it; while a job of the collection is still queued, that job "
    "is returned.",
)
def reindex(collection: str, state: StateDep) -> JobOut:
    check_collection_name(collection)
    settings = state.settings
    embedder, jobs = state.started_jobs()
    sources_of(settings, collection).mkdir(parents=True, exist_ok=True)
    if state.job_queue is not None:
        return job_out(state.job_queue.enqueue(collection, requested_by=socket.gethostname()))

    def work(progress: ProgressCallback) -> IngestReport:
        return ingest_collection(settings, embedder, collection, on_progress=progress)

    return JobOut.model_validate(jobs.submit(collection, work))


@router.get("/jobs/{job_id}", response_model=JobOut, summary="A re-index job's progress")
def get_job(job_id: str, state: StateDep) -> JobOut:
    _, jobs = state.started_jobs()
    if state.job_queue is not None:  # the same row, whichever replica reads it
        return job_out(state.job_queue.get(job_id))
    return JobOut.model_validate(jobs.get(job_id))


def job_out(job: JobRecord) -> JobOut:
    """A job of the database's table as the API shows it (times in seconds since the epoch)."""
    return JobOut(
        id=job.id,
        collection=job.collection,
        state=job.state,
        embedded=job.embedded,
        to_embed=job.to_embed,
        summary=job.summary,
        warnings=list(job.warnings),
        error=job.error,
        version=job.version,
        created_at=job.created_at.timestamp(),
        finished_at=job.finished_at.timestamp() if job.finished_at else None,
        attempts=job.attempts,
        worker=job.worker,
    )
