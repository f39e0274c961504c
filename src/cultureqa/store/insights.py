"""The owner's view of the question log: per collection and date range, questions and
unanswered ones per day, content gaps (unanswered and thumbs-down questions grouped by
meaning), the most-cited articles and sections, and the thumbs-down list.

The queries are here; the grouping takes the vectors from the caller (the HTTP layer and the
CLI embed with the app's model), so this layer needs no model. Days are UTC days.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import Engine, and_, select
from sqlalchemy.exc import SQLAlchemyError

from cultureqa.errors import StoreUnavailableError
from cultureqa.store import schema

Embed = Callable[[Sequence[str]], NDArray[np.float32]]

# Questions whose cosine similarity to a group (average linkage) is at least this join it.
GAP_SIMILARITY = 0.6
MAX_GAP_QUESTIONS = 500  # the most recent ones are grouped: O(n²) similarities
EXAMPLES_PER_GAP = 3
TOP_CITED = 10
MAX_THUMBS_DOWN = 200


@dataclass(frozen=True)
class Day:
    day: date
    asks: int
    unanswered: int

    @property
    def no_answer_rate(self) -> float:
        return self.unanswered / self.asks if self.asks else 0.0


@dataclass(frozen=True)
class GapQuestion:
    question: str
    why: str  # "unanswered" or "thumbs_down"
    at: datetime


@dataclass(frozen=True)
class Gap:
    """Questions that mean about the same thing: how many, and three of them."""

    size: int
    examples: tuple[str, ...]
    unanswered: int
    thumbs_down: int


@dataclass(frozen=True)
class Cited:
    id: str  # an article id, or a passage id (article#section)
    count: int


@dataclass(frozen=True)
class ThumbsDown:
    at: datetime
    question: str | None
    comment: str | None
    passage_id: str | None  # the passage shown as the answer
    passage_text: str | None = None  # filled in by the caller from the index, when it has it


@dataclass(frozen=True)
class Insights:
    collection: str
    since: date
    until: date  # inclusive
    days: tuple[Day, ...]
    articles: tuple[Cited, ...]
    sections: tuple[Cited, ...]
    thumbs_down: tuple[ThumbsDown, ...]
    gap_questions: tuple[GapQuestion, ...] = ()
    gaps: tuple[Gap, ...] = field(default=())

    @property
    def asks(self) -> int:
        return sum(day.asks for day in self.days)

    @property
    def unanswered(self) -> int:
        return sum(day.unanswered for day in self.days)


def read_insights(engine: Engine, collection: str, since: date, until: date) -> Insights:
    """What the question log holds on `collection` from `since` to `until` (UTC days, both
    included), every day of the range listed. Raises StoreUnavailableError when the database
    cannot be read."""
    start = datetime.combine(since, time(), tzinfo=UTC)
    end = datetime.combine(until + timedelta(days=1), time(), tzinfo=UTC)
    try:
        with engine.connect() as connection:
            counts = connection.execute(
                select(schema.daily_counts).where(
                    schema.daily_counts.c.collection == collection,
                    schema.daily_counts.c.day >= since,
                    schema.daily_counts.c.day <= until,
                )
            ).all()
            asks = connection.execute(_asks_query(collection, start, end)).all()
            down = connection.execute(_thumbs_down_query(collection, start, end)).all()
    except SQLAlchemyError as exc:
        raise StoreUnavailableError(
            f"could not read the question log: {exc.__class__.__name__}"
        ) from exc
    by_day = {row.day: Day(row.day, row.asks, row.unanswered) for row in counts}
    days = [
        by_day.get(since + timedelta(days=n), Day(since + timedelta(days=n), 0, 0))
        for n in range((until - since).days + 1)
    ]
    sections = Counter(row.answer_passage_id for row in asks if row.answer_passage_id)
    articles: Counter[str] = Counter()
    for passage_id, count in sections.items():
        articles[passage_id.split("#")[0]] += count
    gap_questions = [
        GapQuestion(row.question, "unanswered", row.asked_at)
        for row in asks
        if not row.answered and row.question
    ] + [
        GapQuestion(question, "thumbs_down", row.created_at)
        for row in down
        if (question := row.own_question or row.ask_question)
    ]
    gap_questions.sort(key=lambda item: item.at, reverse=True)
    return Insights(
        collection=collection,
        since=since,
        until=until,
        days=tuple(days),
        articles=tuple(Cited(a, n) for a, n in _top(articles)),
        sections=tuple(Cited(s, n) for s, n in _top(sections)),
        thumbs_down=tuple(
            ThumbsDown(
                row.created_at,
                row.own_question or row.ask_question,
                row.comment,
                row.passage_id or row.answer_passage_id,
            )
            for row in down[:MAX_THUMBS_DOWN]
        ),
        gap_questions=tuple(gap_questions[:MAX_GAP_QUESTIONS]),
    )


def _top(counts: Counter[str]) -> list[tuple[str, int]]:
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:TOP_CITED]


def _asks_query(collection: str, start: datetime, end: datetime) -> Any:
    asks = schema.asks
    return select(
        asks.c.question, asks.c.answered, asks.c.asked_at, asks.c.answer_passage_id
    ).where(asks.c.collection == collection, asks.c.asked_at >= start, asks.c.asked_at < end)


def _thumbs_down_query(collection: str, start: datetime, end: datetime) -> Any:
    """Thumbs down in the range, newest first; the question from the ask rated when the
    verdict has none of its own."""
    feedback, asks = schema.feedback, schema.asks
    return (
        select(
            feedback.c.created_at,
            feedback.c.comment,
            feedback.c.passage_id,
            feedback.c.question.label("own_question"),
            asks.c.question.label("ask_question"),
            asks.c.answer_passage_id,
        )
        .select_from(feedback.outerjoin(asks, and_(feedback.c.ask_id == asks.c.id)))
        .where(
            feedback.c.collection == collection,
            feedback.c.rating == "down",
            feedback.c.created_at >= start,
            feedback.c.created_at < end,
        )
        .order_by(feedback.c.created_at.desc(), feedback.c.id.desc())
    )


def group_by_meaning(
    vectors: NDArray[np.float32], threshold: float = GAP_SIMILARITY
) -> list[list[int]]:
    """Agglomerative clustering with average linkage on cosine similarity: merge the two most
    similar groups while their average similarity is at least `threshold`. `vectors` are
    normalized (inner product is cosine). Groups of row numbers, largest first."""
    count = len(vectors)
    if count == 0:
        return []
    similarity = (vectors @ vectors.T).astype(np.float64)
    groups: list[list[int]] = [[n] for n in range(count)]
    # Sum of similarities between groups, so the average link is sum / (|a| * |b|).
    link = similarity.copy()
    alive = np.ones(count, dtype=bool)
    while alive.sum() > 1:
        sizes = np.array([max(len(g), 1) for g in groups], dtype=np.float64)
        average = link / np.outer(sizes, sizes)
        mask = np.outer(alive, alive)
        np.fill_diagonal(mask, False)
        average[~mask] = -np.inf
        a, b = np.unravel_index(int(np.argmax(average)), average.shape)
        if average[a, b] < threshold:
            break
        groups[a] = groups[a] + groups[b]
        groups[b] = []
        link[a, :] += link[b, :]
        link[:, a] += link[:, b]
        alive[b] = False
    found = [group for group in groups if group]
    found.sort(key=lambda group: (-len(group), group[0]))
    return found


def with_gaps(insights: Insights, embed: Embed, threshold: float = GAP_SIMILARITY) -> Insights:
    """The insights with their gap questions grouped by meaning (embedded with `embed`)."""
    questions = insights.gap_questions
    if not questions:
        return insights
    vectors = embed([item.question for item in questions])
    gaps = []
    for group in group_by_meaning(np.asarray(vectors, dtype=np.float32), threshold):
        members = [questions[n] for n in group]
        examples: list[str] = []
        for member in members:
            if member.question not in examples:
                examples.append(member.question)
        gaps.append(
            Gap(
                size=len(members),
                examples=tuple(examples[:EXAMPLES_PER_GAP]),
                unanswered=sum(1 for m in members if m.why == "unanswered"),
                thumbs_down=sum(1 for m in members if m.why == "thumbs_down"),
            )
        )
    return replace(insights, gaps=tuple(gaps))


def as_json(insights: Insights) -> dict[str, Any]:
    """The insights as plain JSON values (what the export and `cultureqa insights --json` give)."""
    return {
        "collection": insights.collection,
        "since": insights.since.isoformat(),
        "until": insights.until.isoformat(),
        "asks": insights.asks,
        "unanswered": insights.unanswered,
        "days": [
            {
                "day": d.day.isoformat(),
                "asks": d.asks,
                "unanswered": d.unanswered,
                "no_answer_rate": round(d.no_answer_rate, 4),
            }
            for d in insights.days
        ],
        "gaps": [asdict(gap) | {"examples": list(gap.examples)} for gap in insights.gaps],
        "articles": [asdict(cited) for cited in insights.articles],
        "sections": [asdict(cited) for cited in insights.sections],
        "thumbs_down": [
            asdict(item) | {"at": item.at.isoformat()} for item in insights.thumbs_down
        ],
    }


CSV_COLUMNS = ("table", "key", "count", "unanswered", "detail")


def as_csv(insights: Insights) -> str:
    """The same data as one CSV: a `table` column says which part each row is (summary, day,
    gap, article, section, thumbs_down)."""
    out = io.StringIO()
    writer = _SafeWriter(csv.writer(out))
    writer.writerow(CSV_COLUMNS)
    writer.writerow(["summary", insights.collection, insights.asks, insights.unanswered, ""])
    for d in insights.days:
        writer.writerow(["day", d.day.isoformat(), d.asks, d.unanswered, ""])
    for number, gap in enumerate(insights.gaps, start=1):
        writer.writerow(["gap", number, gap.size, gap.unanswered, " | ".join(gap.examples)])
    for cited in insights.articles:
        writer.writerow(["article", cited.id, cited.count, "", ""])
    for cited in insights.sections:
        writer.writerow(["section", cited.id, cited.count, "", ""])
    for item in insights.thumbs_down:
        detail = json.dumps(
            {"question": item.question, "comment": item.comment, "passage_id": item.passage_id},
            ensure_ascii=False,
        )
        writer.writerow(["thumbs_down", item.at.isoformat(), 1, "", detail])
    return out.getvalue()


class _SafeWriter:
    """A CSV writer that defuses spreadsheet formulas: a readers' question starting with =, +,
    - or @ would run as one when the export is opened in a spreadsheet."""

    def __init__(self, writer: Any) -> None:
        self._writer = writer

    def writerow(self, row: Sequence[object]) -> None:
        self._writer.writerow([_defused(value) for value in row])


def _defused(value: object) -> object:
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def date_range(since: str | None, until: str | None, today: date) -> tuple[date, date]:
    """The UTC days from `since` to `until`, both included: `since` is `7d` (the last 7 days,
    today included) or a date (2026-11-29), 30 days by default; `until` is a date, today by
    default. Raises ValueError in words for anything else, or a range over 366 days."""
    end = _day(until, "until") if until else today
    text = (since or "30d").strip()
    if text.endswith("d") and text[:-1].isdigit():
        start = end - timedelta(days=max(int(text[:-1]), 1) - 1)
    else:
        start = _day(text, "since")
    if start > end:
        raise ValueError(f"since ({start}) is after until ({end})")
    if (end - start).days >= MAX_RANGE_DAYS:
        raise ValueError(f"the range is over {MAX_RANGE_DAYS} days; ask for less")
    return start, end


MAX_RANGE_DAYS = 366


def _day(text: str, name: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        message = f"{name}: {text!r} is not a date (2026-11-29) nor a number of days (7d)"
        raise ValueError(message) from None


def as_text(insights: Insights) -> str:
    """The insights for a terminal: the totals, a line per day, the gaps, the most cited, the
    thumbs down."""
    lines = [
        f"{insights.collection}: {insights.asks} questions, {insights.unanswered} unanswered, "
        f"{insights.since} to {insights.until} (UTC)",
        "",
        "day          questions  unanswered",
    ]
    lines += [f"{d.day}  {d.asks:9d}  {d.unanswered:10d}" for d in insights.days]
    lines += ["", f"Content gaps ({len(insights.gaps)} groups):"]
    for gap in insights.gaps:
        lines.append(
            f"  {gap.size:3d} questions ({gap.unanswered} unanswered, "
            f"{gap.thumbs_down} thumbs down)"
        )
        lines += [f"        - {example}" for example in gap.examples]
    lines += ["", "Most-cited articles:"]
    lines += [f"  {cited.count:5d}  {cited.id}" for cited in insights.articles]
    lines += ["", "Most-cited sections:"]
    lines += [f"  {cited.count:5d}  {cited.id}" for cited in insights.sections]
    lines += ["", f"Thumbs down ({len(insights.thumbs_down)}):"]
    lines += [
        f"  {item.at:%Y-%m-%d %H:%M}  {item.question or '(not kept)'}  [{item.passage_id or '-'}]"
        for item in insights.thumbs_down
    ]
    return "\n".join(lines)
