"""Answer a question from an index: ranked passages with citations and highlighted sentences, a
short answer (the best sentence) with a confidence, or an honest "no answer" with the reason.
Which window of which passage answers, and how sure, is evidence.py's and answer_model.py's."""

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
from cultureqa.search.answer_model import (
    AnswerModel,
    AnswerModels,
    default_models,
)
from cultureqa.search.evidence import PROBABILITY, Evidence, Pick, Windows, decide
from cultureqa.search.followup import FollowUp, Turn, resolve_followup
from cultureqa.search.gazetteer import Coverage, words, world
from cultureqa.search.highlight import (
    QUESTION_WORDS,
    answer_span,
)
from cultureqa.search.places import ArticleNames
from cultureqa.search.retrieval import Hit, Retriever

# How many covered places a no-answer reason lists before "and N more".
MAX_PLACES_LISTED = 12


@dataclass(frozen=True)
class AnswerWeights:
    """How the answer is looked for; which window answers, and how sure, is the answer model's
    (answer_model.py)."""

    passages: int = 5  # the answer is looked for in the first few passages
    # A follow-up's vector: the question's plus this much of its context's (the earlier
    # question it leans on), so the question still leads. Retrieval and the answer's choice
    # each have their own weight.
    context: float = 0.5
    answer_context: float = 0.5
    # No answer below this confidence; None: the answer model's calibrated threshold.
    min_confidence: float | None = None


# Words that ask about a place as a whole ("What is Hamhung known for?", "Tell me about Kyoto"):
# with the question words and the place taken out, nothing else is asked, and the place's
# best-matching passage answers, however evenly its sentences match.
BROAD_WORDS = frozenset(
    tokenize("known famous tell me about culture special interesting things like know life")
)


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
        models: AnswerModels | None = None,
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
        self._models = models or default_models()
        firsts = {p.article_id: p for p in reversed(index.passages)}
        self._coverage = Coverage.of(
            ((p.place, p.country, p.title) for p in firsts.values()), world()
        )
        self._evidence = Evidence(index)

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
        return self.answer(question, plan, self._embedder.embed(texts), top_k, started)

    def query_vector(self, embedded: Vectors, context: float | None = None) -> Vectors:
        """The vector to search with (one row), from the embeddings of a plan's query and, for a
        follow-up, of its context, which weighs `context` (AnswerWeights.context by default)."""
        if len(embedded) == 1:
            return embedded
        weight = self._weights.context if context is None else context
        blended = embedded[0] + weight * embedded[1]
        norm = float(np.linalg.norm(blended))
        if norm < 1e-12:  # a question and context that cancel out: the question alone
            return embedded[:1]
        unit: Vectors = (blended / norm).astype(np.float32)
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
        embedded: Vectors,
        top_k: int,
        started: float | None = None,
    ) -> AskResult:
        """Retrieve with the plan's query and shape the result; it quotes `question` as asked.
        `embedded` holds the embedding of the plan's query and, for a follow-up with context,
        of its context (two rows)."""
        hits, pick = self.retrieve(plan, embedded, top_k)
        result = self.compose(plan.query, hits, pick, started=started)
        elsewhere = self.uncovered_place(question, hits)
        if elsewhere is not None:  # the clearer reason, whatever the confidence
            result = replace(
                result,
                answer=None,
                no_answer_reason=elsewhere,
                no_answer_code="place_not_covered",
            )
        return replace(result, question=question)

    def retrieve(self, plan: FollowUp, embedded: Vectors, top_k: int) -> tuple[list[Hit], Vectors]:
        """The hits for the plan's query, and the vector their windows are scored against:
        the query's, which carries a follow-up's place ("And the food? (Hamhung)"), its
        context weighing less than in the search (the answer is about what is asked now)."""
        query = self.query_vector(embedded)
        hits = self._retriever.search_vector(plan.query, query, top_k, plan.carried_articles)
        return hits, self.query_vector(embedded, self._weights.answer_context)

    def uncovered_place(self, question: str, hits: list[Hit]) -> str | None:
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
        windows = self.windows(question, hits, query)
        model = self.model_for(hits)
        picks = decide(windows, model, self._weights.passages, self.broad(question), hits)
        threshold = self.threshold(model)
        first = picks[: self._weights.passages]
        chosen = max(
            (pick for pick in first if pick is not None),
            key=lambda pick: pick.evidence[PROBABILITY],
            default=None,
        )
        answer, confidence, (code, reason) = self._answer(hits, chosen, threshold)
        return AskResult(
            question=question,
            passages=[
                self._answered(hit, pick, threshold) for hit, pick in zip(hits, picks, strict=True)
            ],
            index_version=self._index.manifest.version,
            model=self._index.manifest.model,
            took_ms=round((time.perf_counter() - started) * 1000, 2),
            answer=answer,
            confidence=confidence,
            no_answer_reason=reason,
            no_answer_code=code,
        )

    def model_for(self, hits: list[Hit]) -> AnswerModel:
        """The answer model for the kind of article the first passage is from."""
        if not hits:
            return self._models.prose
        return self._models.for_article(self.short_share(hits[0].passage.article_id))

    def short_share(self, article_id: str) -> float:
        """The share of the article's sentences that are short (answer_model.py)."""
        return self._evidence.short_share(article_id)

    def windows(self, question: str, hits: list[Hit], query: Vectors) -> list[Windows | None]:
        """Each hit's candidate answers and their evidence (evidence.py)."""
        return self._evidence.windows(question, hits, query, self._weights.passages)

    def threshold(self, model: AnswerModel) -> float:
        minimum = self._weights.min_confidence
        return model.threshold if minimum is None else minimum

    def broad(self, question: str) -> bool:
        """The question asks about a place as a whole: it names one the articles cover, and
        has no other word than question words and BROAD_WORDS."""
        tokens = tokenize(question)
        named = self._names.mentions(tokens)
        place_words = {t for written in named.values() for t in tokenize(written)}
        rest = [t for t in tokens if t not in place_words]
        return bool(named) and all(t in QUESTION_WORDS or t in BROAD_WORDS for t in rest)

    def _answer(
        self, hits: list[Hit], pick: Pick | None, threshold: float
    ) -> tuple[Answer | None, float, tuple[str | None, str | None]]:
        """The answer, its confidence, and (code, reason) when there is none."""
        if not hits:
            return None, 0.0, ("no_passages", "the index holds no passage for this question")
        if pick is None:
            return None, 0.0, ("no_sentence", "the best passages have no sentence to quote")
        hit = hits[pick.hit]
        if pick.confidence < threshold:
            reason = (
                f"no passage answers it closely enough (best similarity {pick.similarity:.2f}; "
                f"confidence {pick.confidence:.2f} < {threshold:.2f})"
            )
            return None, pick.confidence, ("not_close_enough", reason)
        start, end = answer_span(hit.passage.text, pick.span)
        answer = Answer(
            text=hit.passage.text[start:end],
            passage_id=hit.passage.id,
            rank=hit.rank,
            start=start,
            end=end,
            citation=cite(hit.passage, self._collection),
        )
        return answer, pick.confidence, (None, None)

    def _answered(self, hit: Hit, pick: Pick | None, threshold: float) -> AnsweredPassage:
        return AnsweredPassage(
            rank=hit.rank,
            id=hit.passage.id,
            score=round(hit.score, 4),
            text=hit.passage.text,
            citation=cite(hit.passage, self._collection),
            similarity=round(hit.similarity, 4),
            highlights=[] if pick is None else [Highlight(pick.span.start, pick.span.end)],
            weak=pick is None or pick.confidence < threshold,
        )
