"""Answer a question from an index: ranked passages with citations and highlighted sentences, a
short answer (the best sentence) with a confidence, or an honest "no answer" with the reason."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from urllib.parse import quote

import numpy as np

from cultureqa.corpus.passages import Passage
from cultureqa.embedding.base import Embedder, Vectors
from cultureqa.errors import InvalidRequestError
from cultureqa.index.lexical import tokenize
from cultureqa.index.store import LoadedIndex
from cultureqa.search.followup import Turn, resolve_followup
from cultureqa.search.highlight import (
    Span,
    answer_span,
    best_spans,
    coverage,
    sentence_spans,
    sentence_words,
)
from cultureqa.search.places import ArticleNames
from cultureqa.search.retrieval import Hit, Retriever

# Calibrated on seed-dev (answerable: lowest confidence 0.46) against the 2,500 BLEnD questions
# asked of the seed corpus (unanswerable: 99th percentile 0.30); see docs/retrieval.md. Below it
# there is no answer, and a passage below it is marked weak.
MIN_CONFIDENCE = 0.4

# When the model picks the answer sentence, the passage's first sentence wins unless another is
# closer to the question by more than this: a lead sentence often states the point (a Factbook
# field's value: "Languages: Arabic (official), Tamazight ..." for "Which languages are spoken in
# Morocco?", 0.008 behind a sample line), while a clearly closer sentence is the answer ("Dishes
# like Hamhung naengmyeon ..." for "What do people eat in Hamhung?", 0.055 ahead of the lead).
LEAD_MARGIN = 0.03


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
    page: str  # the section on this server's article page: /articles/<id>#<anchor>


@dataclass(frozen=True)
class Highlight:
    start: int  # character offsets into the passage text, end exclusive
    end: int


@dataclass(frozen=True)
class AnsweredPassage:
    rank: int
    id: str
    score: float
    text: str
    citation: Citation
    similarity: float
    highlights: list[Highlight]
    weak: bool


@dataclass(frozen=True)
class Answer:
    text: str  # the sentence, exactly as in the passage
    passage_id: str
    rank: int
    start: int
    end: int
    citation: Citation


@dataclass(frozen=True)
class AskResult:
    question: str
    passages: list[AnsweredPassage]
    index_version: str
    model: str
    took_ms: float
    answer: Answer | None = None
    confidence: float = 0.0
    no_answer_reason: str | None = None


def link_for(passage: Passage) -> str | None:
    base = passage.source_url or passage.source_file
    if base is None:
        return None
    base = base.split("#", 1)[0]
    return f"{base}#{passage.anchor}" if passage.anchor else base


def page_for(passage: Passage, collection: str | None = None) -> str:
    """Path of the section on the served article page, relative to the API's base URL.
    `collection` is named for any collection but the default one."""
    page = f"/articles/{quote(passage.article_id, safe='')}"
    if collection:
        page += f"?collection={quote(collection, safe='')}"
    return f"{page}#{quote(passage.anchor, safe='')}" if passage.anchor else page


def cite(passage: Passage, collection: str | None = None) -> Citation:
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
        page=page_for(passage, collection),
    )


class Answerer:
    """Checks a question, retrieves, and shapes the result. Shared by the API and the CLI."""

    def __init__(
        self,
        retriever: Retriever,
        index: LoadedIndex,
        embedder: Embedder,
        names: ArticleNames,
        *,
        max_question_chars: int,
        max_top_k: int,
        collection: str | None = None,
    ) -> None:
        """`collection` is None for the default collection, else its name (for page links)."""
        self._collection = collection
        self._retriever = retriever
        self._index = index
        self._embedder = embedder
        self._max_question_chars = max_question_chars
        self._max_top_k = max_top_k
        self._names = names

    @property
    def index(self) -> LoadedIndex:
        return self._index

    def ask(self, question: str, top_k: int, history: Sequence[Turn] = ()) -> AskResult:
        """Rank passages for `question`; `history` (earlier turns, oldest first) lets a
        follow-up that names no place lean on the place of an earlier turn (see followup.py)."""
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
        plan = resolve_followup(question, history, self._names)
        query = self._embedder.embed([plan.query])
        hits = self._retriever.search_vector(plan.query, query, top_k, plan.carried_articles)
        # Scored against the query, which carries a follow-up's place ("And the food?
        # (Hamhung)"); the result quotes the question as asked.
        result = self.compose(plan.query, hits, query, started=started)
        return replace(result, question=question)

    def compose(
        self, question: str, hits: list[Hit], query: Vectors, *, started: float | None = None
    ) -> AskResult:
        """Shape retrieved hits into the result: highlights, the short answer, the confidence.
        `query` is the question's embedding (one row)."""
        started = time.perf_counter() if started is None else started
        tokens = tokenize(question)
        idf = self._index.lexical.term_idf
        spans = [
            best_spans(tokens, hit.passage.text, idf, context=_context(hit.passage)) for hit in hits
        ]
        confidences = [
            confidence_of(hit.similarity, coverage(tokens, hit.passage.embedding_text, idf))
            for hit in hits
        ]
        if self._words_miss_the_answer(tokens, hits, spans, confidences):
            spans[0] = self._closest_sentence(hits[0].passage.text, query) or spans[0]
        answer, confidence, reason = _answer(hits, spans, confidences, self._collection)
        return AskResult(
            question=question,
            passages=[
                _answered(hit, s, c, self._collection)
                for hit, s, c in zip(hits, spans, confidences, strict=True)
            ],
            index_version=self._index.manifest.version,
            model=self._index.manifest.model,
            took_ms=round((time.perf_counter() - started) * 1000, 2),
            answer=answer,
            confidence=confidence,
            no_answer_reason=reason,
        )

    @staticmethod
    def _words_miss_the_answer(
        tokens: list[str], hits: list[Hit], spans: list[list[Span]], confidences: list[float]
    ) -> bool:
        """An answer will be given, but no sentence of its passage holds any question word
        beyond those of the passage's title and headings."""
        if not hits or confidences[0] < MIN_CONFIDENCE or not spans[0] or spans[0][0].score > 0:
            return False
        return bool(sentence_words(tokens, _context(hits[0].passage)))

    def _closest_sentence(self, text: str, query: Vectors) -> list[Span]:
        """The sentence of `text` nearest the question by the model. Only for the answer's
        passage, and only when none of its sentences holds a word of the question that its title
        and headings do not ("What do people eat in Hamhung?" against "Dishes like Hamhung
        naengmyeon ..."): one small batch, on a minority of requests."""
        spans = sentence_spans(text)
        if len(spans) < 2:
            return []
        vectors = self._embedder.embed([text[a:b] for a, b in spans])
        similarity = vectors @ query[0]
        similarity[0] += LEAD_MARGIN
        best = int(np.argmax(similarity))
        return [Span(spans[best][0], spans[best][1], 0.0)]


def _context(passage: Passage) -> str:
    return f"{passage.title} {passage.heading_path}"


def confidence_of(similarity: float, matched: float) -> float:
    """0 to 1 from the top passage's cosine similarity and the share of the question's weight
    its text (with title and headings) covers. Each alone can be fooled: a passage on the right
    topic that does not answer, or a passage sharing only the question's common words."""
    sim = min(max((similarity - 0.2) / 0.4, 0.0), 1.0)
    return round(0.5 * sim + 0.5 * matched, 3)


def _answer(
    hits: list[Hit], spans: list[list[Span]], confidences: list[float], collection: str | None
) -> tuple[Answer | None, float, str | None]:
    if not hits:
        return None, 0.0, "the index holds no passage for this question"
    top, confidence = hits[0], confidences[0]
    if confidence < MIN_CONFIDENCE:
        return (
            None,
            confidence,
            f"no passage answers it closely enough (best similarity {top.similarity:.2f}; "
            f"confidence {confidence:.2f} < {MIN_CONFIDENCE})",
        )
    if not spans[0]:
        return None, confidence, "the best passage has no sentence to quote"
    start, end = answer_span(top.passage.text, spans[0][0])
    answer = Answer(
        text=top.passage.text[start:end],
        passage_id=top.passage.id,
        rank=top.rank,
        start=start,
        end=end,
        citation=cite(top.passage, collection),
    )
    return answer, confidence, None


def _answered(
    hit: Hit, spans: list[Span], confidence: float, collection: str | None
) -> AnsweredPassage:
    return AnsweredPassage(
        rank=hit.rank,
        id=hit.passage.id,
        score=round(hit.score, 4),
        text=hit.passage.text,
        citation=cite(hit.passage, collection),
        similarity=round(hit.similarity, 4),
        highlights=[Highlight(s.start, s.end) for s in spans],
        weak=confidence < MIN_CONFIDENCE,
    )
