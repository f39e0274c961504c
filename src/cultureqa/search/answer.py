"""Answer a question from an index: ranked passages with citations and highlighted sentences, a
short answer (the best sentence) with a confidence, or an honest "no answer" with the reason."""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from urllib.parse import quote

import numpy as np
from numpy.typing import NDArray

from cultureqa.corpus.passages import Passage, sentence_spans
from cultureqa.embedding.base import Embedder, Vectors
from cultureqa.errors import InvalidRequestError
from cultureqa.index.lexical import tokenize
from cultureqa.index.store import LoadedIndex
from cultureqa.search.answer_model import (
    SHORT_SENTENCE_CHARS,
    WINDOW_FEATURES,
    AnswerModel,
    AnswerModels,
    asks_number,
    default_models,
    shows_number,
)
from cultureqa.search.followup import FollowUp, Turn, resolve_followup
from cultureqa.search.gazetteer import Coverage, words, world
from cultureqa.search.highlight import (
    QUESTION_WORDS,
    SHORT_SENTENCE_WORDS,
    Span,
    answer_span,
    joins_next,
    passage_words,
    sentence_scores,
    sentence_words,
    share_of_words,
    windows_of,
)
from cultureqa.search.places import ArticleNames
from cultureqa.search.retrieval import Hit, Retriever

# Columns of the window features (answer_model.WINDOW_FEATURES) and of the evidence.
(
    SIMILARITY,
    SENTENCE_SIMILARITY,
    LEXICAL,
    NEXT_LEXICAL,
    RANK_SCORE,
    FIRST_PASSAGE,
    SECOND_PASSAGE,
    FIRST_SENTENCE,
    LEAD_PASSAGE,
    GAP_TO_BEST,
    ABOVE_MEDIAN,
    SPECIFIC,
    PASSAGE_LEXICAL,
    NUMBER_GIVEN,
    NUMBER_MISSING,
    ARTICLE_LEXICAL,
    MISSING_RARITY,
    SHORT,
    ARTICLE_SIZE,
    PASSAGE_COSINE,
) = range(len(WINDOW_FEATURES))
PROBABILITY = 0  # answer_model.ANSWER_FEATURES[0]
# The window features that are also evidence for the chosen one, in ANSWER_FEATURES' order
# (between its first three, from the scores, and its last three, from the question).
EVIDENCE_COLUMNS = [
    SIMILARITY,
    SENTENCE_SIMILARITY,
    LEXICAL,
    NEXT_LEXICAL,
    ABOVE_MEDIAN,
    SPECIFIC,
    RANK_SCORE,
    LEAD_PASSAGE,
    PASSAGE_LEXICAL,
    NUMBER_GIVEN,
    NUMBER_MISSING,
    ARTICLE_LEXICAL,
    MISSING_RARITY,
    SHORT,
    ARTICLE_SIZE,
    PASSAGE_COSINE,
]

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
# A broad question about a covered place is answered when its best window is at least this
# near (the article is about that place, then).
BROAD_MIN_SIMILARITY = 0.45


@dataclass(frozen=True)
class PassageFacts:
    """What the window features need of one passage, whatever the question."""

    sentences: Vectors  # its sentence vectors
    windows: NDArray[np.float32]  # each window's unit vector
    follows: NDArray[np.bool_]  # whether each window but the last shows the next sentence
    numbers: NDArray[np.float64]  # 1 where the window shows a number, a date or a time
    short: NDArray[np.float64]  # 1 where the sentence is under SHORT_SENTENCE_WORDS
    article_size: float  # log10 of its article's passages
    direction: NDArray[np.float32] | None  # its article's direction
    along: NDArray[np.float64] | None  # each window's cosine with that direction


# How many passages' PassageFacts are kept (about 6 KB each: their window vectors).
FACTS_KEPT = 2048


@dataclass(frozen=True)
class Asked:
    """What the window features need of the question, worked out once per ask."""

    tokens: list[str]
    wants_number: bool  # it asks how many, when, what age...
    vector: NDArray[np.float32]  # its embedding, one dimension
    # Per article: its share of the question's words and the rarity of the rarest it lacks.
    articles: dict[str, tuple[float, float]] = field(default_factory=dict)


@dataclass(frozen=True)
class Windows:
    """The candidate answers of one returned passage: each sentence, read with the next one
    where an answer shows both, and the evidence for it (answer_model.WINDOW_FEATURES)."""

    hit: int  # index of its passage in the hits
    spans: list[Span]  # its sentences
    features: NDArray[np.float64]  # (sentences, WINDOW_FEATURES)


@dataclass(frozen=True)
class Pick:
    """A passage's best window, and the evidence that it answers (ANSWER_FEATURES)."""

    hit: int
    span: Span  # the window's first sentence
    similarity: float  # cosine similarity of the window and the question
    evidence: NDArray[np.float64]  # answer_model.ANSWER_FEATURES
    confidence: float  # the answer model's probability that it is right


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
        self._article_rows = article_rows(index)
        self._centroids = article_centroids(index, self._article_rows)
        self._short_share = short_sentence_share(index, self._article_rows)
        self._facts: OrderedDict[int, PassageFacts] = OrderedDict()
        self._facts_lock = threading.Lock()

    @property
    def index(self) -> LoadedIndex:
        return self._index

    @property
    def retriever(self) -> Retriever:
        return self._retriever

    @property
    def weights(self) -> AnswerWeights:
        return self._weights

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
        query = self.query_vector(embedded)
        hits = self._retriever.search_vector(plan.query, query, top_k, plan.carried_articles)
        # Scored against the query, which carries a follow-up's place ("And the food?
        # (Hamhung)"), its context weighing less: the answer is about what is asked now.
        pick = self.query_vector(embedded, self._weights.answer_context)
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
        return self._short_share.get(article_id, 0.0)

    def threshold(self, model: AnswerModel) -> float:
        minimum = self._weights.min_confidence
        return model.threshold if minimum is None else minimum

    def windows(self, question: str, hits: list[Hit], query: Vectors) -> list[Windows | None]:
        """Each hit's candidate answers and their evidence (None for a passage without
        sentences); the features that compare windows compare them with those of the first
        `AnswerWeights.passages` passages."""
        q = np.asarray(query, dtype=np.float32).reshape(-1)
        asked = Asked(tokenize(question), asks_number(question), q)
        found = [self._passage_windows(i, hit, asked, hits) for i, hit in enumerate(hits)]
        first = [w for w in found[: self._weights.passages] if w is not None]
        if not first:
            return found
        similarity = np.concatenate([w.features[:, SIMILARITY] for w in first])
        best, median = float(similarity.max()), float(np.median(similarity))
        for w in found:
            if w is not None:
                w.features[:, GAP_TO_BEST] = w.features[:, SIMILARITY] - best
                w.features[:, ABOVE_MEDIAN] = w.features[:, SIMILARITY] - median
        return found

    def broad(self, question: str) -> bool:
        """The question asks about a place as a whole: it names one the articles cover, and
        has no other word than question words and BROAD_WORDS."""
        tokens = tokenize(question)
        named = self._names.mentions(tokens)
        place_words = {t for written in named.values() for t in tokenize(written)}
        rest = [t for t in tokens if t not in place_words]
        return bool(named) and all(t in QUESTION_WORDS or t in BROAD_WORDS for t in rest)

    def _passage_windows(self, i: int, hit: Hit, asked: Asked, hits: list[Hit]) -> Windows | None:
        tokens, q = asked.tokens, asked.vector
        passage = hit.passage
        spans = sentence_scores(
            tokens, passage.text, self._index.lexical.term_idf, context=_context(passage)
        )
        known = self._passage_facts(hit.row)
        if not spans or known is None or len(known.sentences) != len(spans):
            return None
        features = np.zeros((len(spans), len(WINDOW_FEATURES)), dtype=np.float64)
        features[:, SIMILARITY] = similarity = known.windows @ q
        features[:, SENTENCE_SIMILARITY] = known.sentences @ q
        lexical = np.array([span.score for span in spans])
        features[:, LEXICAL] = lexical
        features[:-1, NEXT_LEXICAL] = np.where(known.follows, lexical[1:], 0.0)
        features[:, RANK_SCORE] = hit.score - hits[0].score
        features[:, PASSAGE_COSINE] = hit.similarity
        features[:, FIRST_PASSAGE] = float(i == 0)
        features[:, SECOND_PASSAGE] = float(i == 1)
        features[0, FIRST_SENTENCE] = 1.0
        features[:, LEAD_PASSAGE] = float(not passage.headings)
        place = f"{passage.title} {passage.place or ''} {passage.country or ''}"
        present = passage_words(passage.text, passage.heading_path)
        features[:, PASSAGE_LEXICAL] = share_of_words(
            tokens, present, self._index.lexical.term_idf, place
        )
        if asked.wants_number:
            features[:, NUMBER_GIVEN] = known.numbers
            features[:, NUMBER_MISSING] = 1.0 - known.numbers
        article = asked.articles.get(passage.article_id)
        if article is None:  # the same for every passage of the article: once per ask
            article = self._article_words(tokens, passage.article_id, place)
            asked.articles[passage.article_id] = article
        features[:, [ARTICLE_LEXICAL, MISSING_RARITY]] = article
        features[:, SHORT] = known.short
        features[:, ARTICLE_SIZE] = known.article_size
        features[:, SPECIFIC] = specific_similarity(similarity, known.along, q, known.direction)
        return Windows(i, spans, features)

    def _passage_facts(self, row: int) -> PassageFacts | None:
        """What the window features need of a passage that does not depend on the question,
        worked out once and kept for the passages asked about most."""
        with self._facts_lock:  # asks run on several threads
            known = self._facts.get(row)
            if known is not None:
                self._facts.move_to_end(row)
                return known
        rows = self._index.sentences.rows(row)
        if not len(rows):
            return None
        passage = self._index.passages[row]
        sentences = self._index.sentences.vectors[rows.start : rows.stop]
        joined = joins_next(passage.text)
        windows = window_vectors(sentences, joined)
        direction = self._centroids.get(passage.article_id)
        known = PassageFacts(
            sentences=sentences,
            windows=windows,
            follows=np.asarray(joined[:-1], dtype=bool),
            numbers=np.array(
                [shows_number(passage.text[a:b]) for a, b in windows_of(passage.text)], dtype=float
            ),
            short=np.array(
                [
                    len(passage.text[a:b].split()) < SHORT_SENTENCE_WORDS
                    for a, b in sentence_spans(passage.text)
                ],
                dtype=float,
            ),
            article_size=math.log10(len(self._article_rows[passage.article_id])),
            direction=direction,
            along=None if direction is None else (windows @ direction).astype(np.float64),
        )
        with self._facts_lock:
            self._facts[row] = known
            if len(self._facts) > FACTS_KEPT:
                self._facts.popitem(last=False)
        return known

    def _article_words(self, tokens: list[str], article_id: str, place: str) -> tuple[float, float]:
        """The article's share of the question's words (as highlight.share_of_words weighs
        them, its place's words aside) and the IDF of the rarest word it lacks over the rarest
        word's: a question whose telling word no passage of the article holds is likely on a
        topic the article lacks."""
        lexical = self._index.lexical
        wanted = {t: lexical.term_idf(t) for t in sentence_words(tokens, place)}
        if not wanted:
            return 0.0, 0.0
        rows = self._article_rows[article_id]
        present = {token for token in wanted if lexical.holds(token, rows)}
        total = sum(wanted.values())
        share = 0.5 * sum(wanted[t] for t in present) / total + 0.5 * len(present) / len(wanted)
        missing = [idf for t, idf in wanted.items() if t not in present]
        return share, (max(missing) / max(wanted.values()) if missing else 0.0)

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


def _context(passage: Passage) -> str:
    return f"{passage.title} {passage.heading_path}"


def decide(
    windows: list[Windows | None],
    model: AnswerModel,
    passages: int,
    broad: bool,
    hits: list[Hit],
) -> list[Pick | None]:
    """Each passage's best window by the model's score, with the evidence that it answers and
    the model's confidence; the evidence compares it with the windows of the first `passages`
    passages, among which the answer is chosen. A broad question ("What is Hamhung known
    for?") is answered by a window at least BROAD_MIN_SIMILARITY near, whatever the model says
    (confidence at least its threshold)."""
    scores = [None if w is None else model.window_scores(w.features) for w in windows]
    pooled = [s for s in scores[:passages] if s is not None]
    if not pooled:
        return [None] * len(windows)
    everything = np.concatenate(pooled)
    top = float(everything.max())
    second = float(np.partition(everything, -2)[-2]) if len(everything) > 1 else top - 1.0
    total = float(np.exp(everything - top).sum())  # sum of exp(score - top) over the pool
    picks: list[Pick | None] = []
    for w, score in zip(windows, scores, strict=True):
        if w is None or score is None:
            picks.append(None)
            continue
        best = int(np.argmax(score))
        own = float(score[best])
        # Its share of exp(score) among the first passages' windows (itself added when it is
        # not one of them), and how far it leads the best other window.
        if w.hit < passages:
            probability = math.exp(own - top) / total
            margin = own - second if own >= top else own - top
        else:
            peak = max(top, own)
            probability = math.exp(own - peak) / (
                total * math.exp(top - peak) + math.exp(own - peak)
            )
            margin = own - top
        features = w.features[best]
        evidence = np.concatenate(
            [
                (probability, margin, own),
                features[EVIDENCE_COLUMNS],
                (hits[0].similarity, float(broad), 1.0),
            ]
        )
        confidence = model.confidence(evidence)
        if broad and features[SIMILARITY] >= BROAD_MIN_SIMILARITY:
            confidence = max(confidence, model.threshold)
        similarity = float(features[SIMILARITY])
        picks.append(Pick(w.hit, w.spans[best], similarity, evidence, round(confidence, 3)))
    return picks


def specific_similarity(
    similarity: NDArray[np.float32],
    along: NDArray[np.float64] | None,
    q: NDArray[np.float32],
    direction: NDArray[np.float32] | None,
) -> NDArray[np.float64]:
    """Cosine similarity of each window and the question with `direction` (the article's)
    taken out of both: what is left when being about the same place no longer counts.
    `similarity` is the windows' cosine with the question, `along` their cosine with the
    direction."""
    if direction is None or along is None:
        return similarity.astype(np.float64)
    qd = float(q @ direction)
    shared = similarity.astype(np.float64) - along * qd
    norms = np.sqrt(np.maximum(1.0 - along**2, 1e-6)) * math.sqrt(max(1.0 - qd**2, 1e-6))
    result: NDArray[np.float64] = shared / norms
    return result


def article_rows(index: LoadedIndex) -> dict[str, range]:
    """Each article's passage rows (ingest stores an article's passages together)."""
    rows: dict[str, range] = {}
    for row, passage in enumerate(index.passages):
        known = rows.get(passage.article_id)
        rows[passage.article_id] = range(row if known is None else known.start, row + 1)
    return rows


def short_sentence_share(index: LoadedIndex, rows: dict[str, range]) -> dict[str, float]:
    """Each article's share of sentences under SHORT_SENTENCE_CHARS."""
    first, spans = index.sentences.first, index.sentences.spans
    short = (spans[:, 2] - spans[:, 1]) < SHORT_SENTENCE_CHARS
    shares = {}
    for article, span in rows.items():
        own = short[int(first[span.start]) : int(first[span.stop])]
        shares[article] = float(own.mean()) if len(own) else 0.0
    return shares


def article_centroids(index: LoadedIndex, rows: dict[str, range]) -> dict[str, NDArray[np.float32]]:
    """Each article's direction: the unit mean of its sentence vectors."""
    first, vectors = index.sentences.first, index.sentences.vectors
    centroids = {}
    for article, span in rows.items():
        total = vectors[int(first[span.start]) : int(first[span.stop])].sum(axis=0)
        centroids[article] = (total / max(float(np.linalg.norm(total)), 1e-12)).astype(np.float32)
    return centroids


def window_vectors(sentences: Vectors, joined: Sequence[bool]) -> NDArray[np.float32]:
    window = np.array(sentences, dtype=np.float32, copy=True)
    following = np.asarray(joined[:-1], dtype=bool)
    window[:-1][following] += sentences[1:][following]
    window /= np.maximum(np.linalg.norm(window, axis=1, keepdims=True), 1e-12)
    return window
