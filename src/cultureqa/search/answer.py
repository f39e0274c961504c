"""Answer a question from an index: ranked passages with citations and highlighted sentences, a
short answer (the best sentence) with a confidence, or an honest "no answer" with the reason."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from urllib.parse import quote

import numpy as np
from numpy.typing import NDArray

from cultureqa.corpus.passages import Passage
from cultureqa.embedding.base import Embedder, Vectors
from cultureqa.errors import InvalidRequestError
from cultureqa.index.lexical import tokenize
from cultureqa.index.store import LoadedIndex
from cultureqa.search.followup import FollowUp, Turn, resolve_followup
from cultureqa.search.gazetteer import Coverage, words, world
from cultureqa.search.highlight import (
    QUESTION_WORDS,
    Span,
    answer_span,
    joins_next,
    sentence_scores,
)
from cultureqa.search.places import ArticleNames
from cultureqa.search.retrieval import Hit, Retriever

# How many covered places a no-answer reason lists before "and N more".
MAX_PLACES_LISTED = 12


@dataclass(frozen=True)
class AnswerWeights:
    """How the answer is chosen, and when there is none. Tuned on the student-style dev split
    (benchmarks/answers.py, docs/retrieval.md); reported on its validation split."""

    # An answer is a sentence and the one after it (what the student is shown); its score is
    # the cosine similarity of that window with the question, plus `lexical` times the
    # sentence's share of the question's words, plus `rank` times its passage's ranking score
    # minus the first passage's (0 for the first passage, negative below it).
    lexical: float = 0.0
    rank: float = 1.0
    passages: int = 3  # the answer is looked for in the first few passages
    # A follow-up's vector: the question's plus this much of its context's (the earlier
    # question it leans on), so the question still leads.
    context: float = 0.5
    # Confidence, 0 to 1: (window similarity + `confidence_lexical` times the sentence's share
    # of the question's words + `confidence_margin` times how far the window stands out from
    # the median window of the first passages) / CONFIDENCE_SCALE. A window that stands out
    # answers; when every sentence is about as near, the question is on a topic the articles
    # lack. No answer below `min_confidence`, and a passage below it is marked weak.
    confidence_lexical: float = 0.5
    confidence_margin: float = 2.0
    min_confidence: float = 0.28


CONFIDENCE_SCALE = 3.0

# Words that ask about a place as a whole ("What is Hamhung known for?", "Tell me about Kyoto"):
# with the question words and the place taken out, nothing else is asked, and the place's
# best-matching passage answers, however evenly its sentences match.
BROAD_WORDS = frozenset(
    tokenize("known famous tell me about culture special interesting things like know life")
)
# A broad question about a covered place is answered when its best window is at least this
# near (the article is about that place, then).
BROAD_MIN_SIMILARITY = 0.45


@dataclass(frozen=True)
class Pick:
    """A candidate answer of one returned passage: a sentence and the one after it."""

    hit: int  # index of its passage in the hits
    span: Span  # the sentence's offsets, and its share of the question's words
    similarity: float  # cosine similarity of the window (sentence and next) and the question
    score: float  # its score as an answer (AnswerWeights)
    lexical: float  # the sentence's share of the question's words
    windows: NDArray[np.float32]  # the similarity of every window of its passage


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
    # Why there is no answer, for programs: "place_not_covered", "not_close_enough",
    # "no_passages" or "no_sentence".
    no_answer_code: str | None = None


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
        weights: AnswerWeights | None = None,
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
        self._weights = weights or AnswerWeights()
        firsts = {p.article_id: p for p in reversed(index.passages)}
        self._coverage = Coverage.of(
            ((p.place, p.country, p.title) for p in firsts.values()), world()
        )

    @property
    def index(self) -> LoadedIndex:
        return self._index

    def ask(self, question: str, top_k: int, history: Sequence[Turn] = ()) -> AskResult:
        """Rank passages for `question`; `history` (earlier turns, oldest first) lets a
        follow-up lean on the conversation (see followup.py)."""
        started = time.perf_counter()
        question = self.checked(question, top_k)
        plan = self.plan(question, history)
        texts = [plan.query, plan.context] if plan.context else [plan.query]
        return self.answer(
            question, plan, self.query_vector(self._embedder.embed(texts)), top_k, started
        )

    def query_vector(self, vectors: Vectors) -> Vectors:
        """The vector to search with (one row), from the embeddings of a plan's query and, for a
        follow-up, of its context."""
        if len(vectors) == 1:
            return vectors
        blended = vectors[0] + self._weights.context * vectors[1]
        unit: Vectors = (blended / np.linalg.norm(blended)).astype(np.float32)
        return unit.reshape(1, -1)

    def checked(self, question: str, top_k: int) -> str:
        """The question, trimmed; InvalidRequestError (422) when it or top_k is unacceptable."""
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
        return question

    def plan(self, question: str, history: Sequence[Turn] = ()) -> FollowUp:
        """How to retrieve for `question` given the conversation: the query to embed and the
        articles to favour."""
        return resolve_followup(question, history, self._names)

    def answer(
        self,
        question: str,
        plan: FollowUp,
        query: Vectors,
        top_k: int,
        started: float | None = None,
    ) -> AskResult:
        """Retrieve with the plan's query, whose embedding is `query` (one row), and shape the
        result; it quotes `question` as asked."""
        hits = self._retriever.search_vector(plan.query, query, top_k, plan.carried_articles)
        # Scored against the query, which carries a follow-up's place ("And the food?
        # (Hamhung)").
        result = self.compose(plan.query, hits, query, started=started)
        elsewhere = self._uncovered_place(question, hits)
        if elsewhere is not None:  # the clearer reason, whatever the confidence
            result = replace(
                result,
                answer=None,
                no_answer_reason=elsewhere,
                no_answer_code="place_not_covered",
            )
        return replace(result, question=question)

    def _uncovered_place(self, question: str, hits: list[Hit]) -> str | None:
        """Why there is no answer when the question is about a place no article covers (and
        the best passages do not mention it either), else None."""
        uncovered = self._coverage.uncovered(world().find(question))
        if not uncovered:
            return None
        read = set(words(" ".join(f"{h.passage.title} {h.passage.text}" for h in hits[:3])))
        if any(set(m.words) <= read for m in uncovered):
            return None
        named = ", ".join(m.written for m in uncovered)
        covered = list(self._coverage.described)
        listed = ", ".join(covered[:MAX_PLACES_LISTED])
        more = len(covered) - MAX_PLACES_LISTED
        if more > 0:
            listed += f" and {more} more"
        return f"no article here covers {named}; the articles cover {listed}"

    def compose(
        self, question: str, hits: list[Hit], query: Vectors, *, started: float | None = None
    ) -> AskResult:
        """Shape retrieved hits into the result: highlights, the short answer, the confidence.
        `query` is the question's embedding (one row)."""
        started = time.perf_counter() if started is None else started
        tokens = tokenize(question)
        best = [self._best_window(i, hit, tokens, query, hits) for i, hit in enumerate(hits)]
        candidates = [pick for pick in best[: self._weights.passages] if pick is not None]
        median = (
            float(np.median(np.concatenate([p.windows for p in candidates]))) if candidates else 0.0
        )
        confidences = [0.0 if pick is None else self._confidence(pick, median) for pick in best]
        chosen = max(candidates, key=lambda p: p.score, default=None)
        if chosen is not None and self._broad(tokens) and chosen.similarity >= BROAD_MIN_SIMILARITY:
            confidences[chosen.hit] = max(confidences[chosen.hit], self._weights.min_confidence)
        answer, confidence, (code, reason) = self._answer(
            hits, chosen, confidences[chosen.hit] if chosen else 0.0
        )
        return AskResult(
            question=question,
            passages=[
                self._answered(hit, pick, c)
                for hit, pick, c in zip(hits, best, confidences, strict=True)
            ],
            index_version=self._index.manifest.version,
            model=self._index.manifest.model,
            took_ms=round((time.perf_counter() - started) * 1000, 2),
            answer=answer,
            confidence=confidence,
            no_answer_reason=reason,
            no_answer_code=code,
        )

    def _broad(self, tokens: list[str]) -> bool:
        """The question asks about a place as a whole: it names one the articles cover, and
        has no other word than question words and BROAD_WORDS."""
        named = self._names.mentions(tokens)
        place_words = {t for written in named.values() for t in tokenize(written)}
        rest = [t for t in tokens if t not in place_words]
        return bool(named) and all(t in QUESTION_WORDS or t in BROAD_WORDS for t in rest)

    def _confidence(self, pick: Pick, median: float) -> float:
        weights = self._weights
        raw = (
            pick.similarity
            + weights.confidence_lexical * pick.lexical
            + weights.confidence_margin * (pick.similarity - median)
        )
        return round(min(max(raw / CONFIDENCE_SCALE, 0.0), 1.0), 3)

    def _best_window(
        self, i: int, hit: Hit, tokens: list[str], query: Vectors, hits: list[Hit]
    ) -> Pick | None:
        """The sentence of `hit`'s passage that, with the one after it, best answers; None for
        a passage without sentences."""
        idf = self._index.lexical.term_idf
        spans = sentence_scores(tokens, hit.passage.text, idf, context=_context(hit.passage))
        rows = self._index.sentences.rows(hit.row)
        if not spans or len(rows) != len(spans):
            return None
        vectors = self._index.sentences.vectors[rows.start : rows.stop]
        similarity = window_similarity(vectors, joins_next(hit.passage.text), query)
        lexical = np.array([s.score for s in spans])
        weights = self._weights
        scores = similarity + weights.lexical * lexical
        best = int(np.argmax(scores))
        score = float(scores[best]) + weights.rank * (hit.score - hits[0].score)
        return Pick(
            i, spans[best], float(similarity[best]), score, float(lexical[best]), similarity
        )

    def _answer(
        self, hits: list[Hit], pick: Pick | None, confidence: float
    ) -> tuple[Answer | None, float, tuple[str | None, str | None]]:
        """The answer, its confidence, and (code, reason) when there is none."""
        if not hits:
            return None, 0.0, ("no_passages", "the index holds no passage for this question")
        if pick is None:
            return None, 0.0, ("no_sentence", "the best passages have no sentence to quote")
        hit = hits[pick.hit]
        if confidence < self._weights.min_confidence:
            reason = (
                f"no passage answers it closely enough (best similarity {pick.similarity:.2f}; "
                f"confidence {confidence:.2f} < {self._weights.min_confidence})"
            )
            return None, confidence, ("not_close_enough", reason)
        start, end = answer_span(hit.passage.text, pick.span)
        answer = Answer(
            text=hit.passage.text[start:end],
            passage_id=hit.passage.id,
            rank=hit.rank,
            start=start,
            end=end,
            citation=cite(hit.passage, self._collection),
        )
        return answer, confidence, (None, None)

    def _answered(self, hit: Hit, pick: Pick | None, confidence: float) -> AnsweredPassage:
        return AnsweredPassage(
            rank=hit.rank,
            id=hit.passage.id,
            score=round(hit.score, 4),
            text=hit.passage.text,
            citation=cite(hit.passage, self._collection),
            similarity=round(hit.similarity, 4),
            highlights=[] if pick is None else [Highlight(pick.span.start, pick.span.end)],
            weak=confidence < self._weights.min_confidence,
        )


def _context(passage: Passage) -> str:
    return f"{passage.title} {passage.heading_path}"


def window_similarity(
    sentences: Vectors, joined: Sequence[bool], query: Vectors
) -> NDArray[np.float32]:
    """Cosine similarity with the query of each sentence read with the one after it where an
    answer shows both (`joined`, from highlight.joins_next): the mean of their unit vectors,
    made unit."""
    window = sentences.copy()
    following = np.asarray(joined[:-1], dtype=bool)
    window[:-1][following] += sentences[1:][following]
    window /= np.maximum(np.linalg.norm(window, axis=1, keepdims=True), 1e-12)
    similarity: NDArray[np.float32] = window @ np.asarray(query, dtype=np.float32).reshape(-1)
    return similarity
