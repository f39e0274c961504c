"""Which course asks which collection: bound when an instructor places the tool (deep
linking), one collection per course and one course per collection, so that no course reads
another's questions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, delete, insert, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from cultureqa.errors import ConflictError, StoreUnavailableError
from cultureqa.store.database import for_writing
from cultureqa.store.schema import lti_courses, lti_platforms


def _store_error(exc: SQLAlchemyError) -> StoreUnavailableError:
    return StoreUnavailableError(
        f"the LTI courses cannot be read or written: {exc.__class__.__name__}: "
        f"{str(getattr(exc, 'orig', None) or exc).strip().splitlines()[0][:200]}",
        hint="check CULTUREQA_DATABASE_URL",
    )


def course_collection(engine: Engine, platform_id: int, course: str) -> str | None:
    """The collection bound to the course, None before an instructor placed the tool."""
    try:
        with engine.connect() as connection:
            found: str | None = connection.execute(
                select(lti_courses.c.collection).where(
                    lti_courses.c.platform_id == platform_id, lti_courses.c.context_id == course
                )
            ).scalar()
    except SQLAlchemyError as exc:
        raise _store_error(exc) from exc
    return found


def bound_collections(engine: Engine) -> set[str]:
    try:
        with engine.connect() as connection:
            return set(connection.execute(select(lti_courses.c.collection)).scalars())
    except SQLAlchemyError as exc:
        raise _store_error(exc) from exc


def bind_course(engine: Engine, platform_id: int, course: str, collection: str, user: str) -> None:
    """Bind the course to the collection. A course keeps the collection it was first bound to
    (placing the tool again picks the same); a collection bound to another course is refused
    (ConflictError)."""
    current = course_collection(engine, platform_id, course)
    if current == collection:
        return
    if current is not None:
        raise ConflictError(
            f"this course asks the collection {current!r} already",
            hint="the owner can move it; pick that collection",
        )
    try:
        with for_writing(engine).begin() as connection:
            connection.execute(
                insert(lti_courses).values(
                    platform_id=platform_id,
                    context_id=course,
                    collection=collection,
                    bound_by=user,
                    bound_at=datetime.now(UTC),
                )
            )
    except IntegrityError as exc:
        raise ConflictError(
            f"the collection {collection!r} belongs to another course",
            hint="pick or create another collection",
        ) from exc
    except SQLAlchemyError as exc:
        raise _store_error(exc) from exc


@dataclass(frozen=True)
class BoundCourse:
    issuer: str
    client_id: str
    course: str  # the platform's context id
    collection: str
    bound_at: datetime


def list_courses(engine: Engine) -> list[BoundCourse]:
    """Every course bound to a collection, by platform and course."""
    query = (
        select(
            lti_platforms.c.issuer,
            lti_platforms.c.client_id,
            lti_courses.c.context_id,
            lti_courses.c.collection,
            lti_courses.c.bound_at,
        )
        .join(lti_platforms, lti_platforms.c.id == lti_courses.c.platform_id)
        .order_by(lti_platforms.c.issuer, lti_courses.c.context_id)
    )
    try:
        with engine.connect() as connection:
            return [BoundCourse(*row) for row in connection.execute(query)]
    except SQLAlchemyError as exc:
        raise _store_error(exc) from exc


def unbind_collection(engine: Engine, collection: str) -> bool:
    """Free the collection from the course it is bound to (whose next placement picks again).
    False: no course had it."""
    try:
        with for_writing(engine).begin() as connection:
            done = connection.execute(
                delete(lti_courses).where(lti_courses.c.collection == collection)
            )
    except SQLAlchemyError as exc:
        raise _store_error(exc) from exc
    return bool(done.rowcount)
