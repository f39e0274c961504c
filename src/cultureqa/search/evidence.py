"""The evidence for each candidate answer, and the choice among them.

A candidate answer is a **window**: a sentence of a returned passage, read with the next one
where an answer shows both. Each is described by the numbers answer_model.WINDOW_FEATURES
names, from the stored sentence vectors, the passage's words and its article; `decide` scores
them with the answer model and gives each passage's best window with the evidence that it
answers (answer_model.ANSWER_FEATURES) and the model's confidence. What does not depend on the
question is worked out once per passage and kept (PassageFacts)."""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from cultureqa.corpus.passages import Passage, sentence_spans
from cultureqa.embedding.base import Vectors
from cultureqa.index.lexical import tokenize
from cultureqa.index.store import LoadedIndex
from cultureqa.search.answer_model import (
    ANSWER_FEATURES,
    SHORT_SENTENCE_CHARS,
    WINDOW_FEATURES,
    AnswerModel,
    asks_number,
    shows_number,
)
from cultureqa.search.highlight import (
    SHORT_SENTENCE_WORDS,
    Span,
    joins_next,
    passage_words,
    question_weights,
    sentence_scores,
    share_of_words,
    weighted_share,
    windows_of,
)
from cultureqa.search.retrieval import Hit

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
EVIDENCE_COLUMNS = [WINDOW_FEATURES.index(name) for name in ANSWER_FEATURES[3:-3]]

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
class QuestionFacts:
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


class Evidence:
    """The window features of one index: what they need of its articles (their passages,
    directions and share of short sentences) is worked out when the index is loaded."""

    def __init__(self, index: LoadedIndex) -> None:
        self._index = index
        self._article_rows = article_rows(index)
        self._centroids = article_centroids(index, self._article_rows)
        self._short_share = short_sentence_share(index, self._article_rows)
        self._facts: OrderedDict[int, PassageFacts] = OrderedDict()
        self._facts_lock = threading.Lock()

    def windows(
        self, question: str, hits: list[Hit], query: Vectors, passages: int
    ) -> list[Windows | None]:
        """Each hit's candidate answers and their evidence (None for a passage without
        sentences); the features that compare windows compare them with those of the first
        `passages` passages."""
        q = np.asarray(query, dtype=np.float32).reshape(-1)
        asked = QuestionFacts(tokenize(question), asks_number(question), q)
        found = [self._passage_windows(i, hit, asked, hits) for i, hit in enumerate(hits)]
        first = [w for w in found[:passages] if w is not None]
        if not first:
            return found
        similarity = np.concatenate([w.features[:, SIMILARITY] for w in first])
        best, median = float(similarity.max()), float(np.median(similarity))
        for w in found:
            if w is not None:
                w.features[:, GAP_TO_BEST] = w.features[:, SIMILARITY] - best
                w.features[:, ABOVE_MEDIAN] = w.features[:, SIMILARITY] - median
        return found

    def short_share(self, article_id: str) -> float:
        """The share of the article's sentences that are short (answer_model.py)."""
        return self._short_share.get(article_id, 0.0)

    def article_size(self, article_id: str) -> int:
        """How many passages the article has."""
        return len(self._article_rows[article_id])

    def _passage_windows(
        self, i: int, hit: Hit, asked: QuestionFacts, hits: list[Hit]
    ) -> Windows | None:
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
        wanted = question_weights(tokens, lexical.term_idf, place)
        if not wanted:
            return 0.0, 0.0
        rows = self._article_rows[article_id]
        present = {token for token in wanted if lexical.holds(token, rows)}
        share = weighted_share(wanted, present)
        missing = [idf for t, idf in wanted.items() if t not in present]
        return share, (max(missing) / max(wanted.values()) if missing else 0.0)


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
