"""Which course asks which collection: bound when an instructor places the tool (deep
linking), one collection per course and one course per collection, so that no course reads
another's questions."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from cultureqa.errors import ConflictError, StoreUnavailableError
from cultureqa.store.database import for_writing
from cultureqa.store.schema import lti_courses


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
