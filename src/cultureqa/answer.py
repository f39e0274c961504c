"""Answer a question from an index: ranked passages, each with the citation a reader can follow."""

from __future__ import annotations

import time
from dataclasses import dataclass

from .errors import InvalidRequestError
from .index import LoadedIndex
from .passages import Passage
from .retrieval import DenseRetriever, Hit


@dataclass(frozen=True)
class Citation:
    article_id: str
    title: str
    heading_path: str
    anchor: str
    link: str | None  # source URL + anchor, else the corpus file + anchor
    source_url: str | None
    source_file: str | None
    start_line: int
    end_line: int


@dataclass(frozen=True)
class AnsweredPassage:
    rank: int
    id: str
    score: float
    text: str
    citation: Citation


@dataclass(frozen=True)
class AskResult:
    question: str
    passages: list[AnsweredPassage]
    index_version: str
    model: str
    took_ms: float


def link_for(passage: Passage) -> str | None:
    base = passage.source_url or passage.source_file
    if base is None:
        return None
    base = base.split("#", 1)[0]
    return f"{base}#{passage.anchor}" if passage.anchor else base


def cite(passage: Passage) -> Citation:
    return Citation(
        article_id=passage.article_id,
        title=passage.title,
        heading_path=passage.heading_path,
        anchor=passage.anchor,
        link=link_for(passage),
        source_url=passage.source_url,
        source_file=passage.source_file,
        start_line=passage.start_line,
        end_line=passage.end_line,
    )


class Answerer:
    """Checks a question, retrieves, and shapes the result. Shared by the API and the CLI."""

    def __init__(
        self,
        retriever: DenseRetriever,
        index: LoadedIndex,
        *,
        max_question_chars: int,
        max_top_k: int,
    ) -> None:
        self._retriever = retriever
        self._index = index
        self._max_question_chars = max_question_chars
        self._max_top_k = max_top_k

    @property
    def index(self) -> LoadedIndex:
        return self._index

    def ask(self, question: str, top_k: int) -> AskResult:
        started = time.perf_counter()
        question = question.strip()
        if not question:
            raise InvalidRequestError(
                "question is empty; ask something, e.g. 'What is Hamhung known for?'"
            )
        if len(question) > self._max_question_chars:
            raise InvalidRequestError(
                f"question is {len(question)} characters long; the limit is "
                f"{self._max_question_chars}"
            )
        if not 1 <= top_k <= self._max_top_k:
            raise InvalidRequestError(f"top_k must be between 1 and {self._max_top_k}, not {top_k}")
        hits = self._retriever.search(question, top_k)
        return AskResult(
            question=question,
            passages=[_answered(hit) for hit in hits],
            index_version=self._index.manifest.version,
            model=self._index.manifest.model,
            took_ms=round((time.perf_counter() - started) * 1000, 2),
        )


def _answered(hit: Hit) -> AnsweredPassage:
    return AnsweredPassage(
        rank=hit.rank,
        id=hit.passage.id,
        score=round(hit.score, 4),
        text=hit.passage.text,
        citation=cite(hit.passage),
    )
