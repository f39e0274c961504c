"""The sentence(s) of a passage that best match a question, as character spans: no model needed.

A sentence's score is the share of the question's content words (stemmed) that it contains: half
weighted by their IDF in the index (rare words matter more), half unweighted (in a small corpus
IDF says little). Cheap enough for every returned passage on every request.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence, Set
from dataclasses import dataclass
from functools import lru_cache

from cultureqa.corpus.passages import sentence_spans
from cultureqa.index.lexical import tokenize

# Words that say what kind of question it is, not what it is about (stemmed, as tokenize gives
# them). BM25's stop list (Lucene's 33 words) keeps them; for picking a sentence they are noise.
QUESTION_WORDS = frozenset(
    [
        "what",
        "which",
        "who",
        "whom",
        "whose",
        "where",
        "when",
        "whi",
        "how",
        "do",
        "doe",
        "did",
        "have",
        "has",
        "had",
        "can",
        "could",
        "would",
        "should",
        "may",
        "might",
        "were",
        "been",
        "name",  # "What is the name of ...": the form of the question, not its subject
    ]
)

# An answer sentence shorter than this many words (a list line such as "total World Heritage
# Sites: 4 (2 cultural, 2 natural)") is given the sentence after it even across a line break:
# the line that repeats the question's words is often the label, the next one the answer.
SHORT_SENTENCE_WORDS = 12


@dataclass(frozen=True)
class Span:
    start: int  # character offset into the passage text
    end: int  # exclusive
    score: float  # share of the question's weight the sentence covers, 0 to 1


# Passages' sentences and words, tokenized once and kept for the passages asked about most: the
# same passages come back for many questions, and tokenizing (regex, stop words, stemming) was
# the largest cost of an ask after the model and the vector search. Bounded: a few MB at most.
TOKEN_CACHE_PASSAGES = 4096


@lru_cache(maxsize=TOKEN_CACHE_PASSAGES)
def words_of(text: str) -> frozenset[str]:
    """The distinct stemmed content words of `text`."""
    return frozenset(tokenize(text))


@lru_cache(maxsize=TOKEN_CACHE_PASSAGES)
def _sentences_with_words(text: str) -> tuple[tuple[int, int, frozenset[str]], ...]:
    return tuple((a, b, frozenset(tokenize(text[a:b]))) for a, b in _spans(text))


@lru_cache(maxsize=TOKEN_CACHE_PASSAGES)
def _spans(text: str) -> tuple[tuple[int, int], ...]:
    return tuple(sentence_spans(text))


@lru_cache(maxsize=TOKEN_CACHE_PASSAGES)
def _joins(text: str) -> tuple[bool, ...]:
    spans = _spans(text)
    joined = []
    for (start, end), following in zip(spans, [*spans[1:], None], strict=True):
        if following is None:
            joined.append(False)
            continue
        short = len(text[start:end].split()) < SHORT_SENTENCE_WORDS
        gap = text[end : following[0]]
        wrapped = gap.count("\n") == 1 and text[end - 1] in '.!?…"”)'
        joined.append(short or "\n" not in gap or wrapped)
    return tuple(joined)


def joins_next(text: str) -> list[bool]:
    """For each sentence of `text`, whether an answer that starts there also shows the next
    one: when the two share a paragraph (a single line break after a full stop is a
    hard-wrapped paragraph; without one it starts another list line), or when it is short (a
    list line's label) and the next line follows. An answer often follows the sentence that
    repeats the question's words ("Markets ... offer glimpses of informal commerce. Locals
    barter for goods")."""
    return list(_joins(text))


def windows_of(text: str) -> list[tuple[int, int]]:
    """The answer each sentence of `text` starts: (start, end) of the sentence and, where
    joins_next says so, the one after it."""
    spans = _spans(text)
    return [
        (start, spans[i + 1][1] if joined else end)
        for i, ((start, end), joined) in enumerate(zip(spans, _joins(text), strict=True))
    ]


def answer_span(text: str, best: Span) -> tuple[int, int]:
    """The sentence `best` and, where joins_next says so, the one after it."""
    for start, end in windows_of(text):
        if start == best.start:
            return start, end
    return best.start, best.end


def sentence_words(question_tokens: Sequence[str], context: str = "") -> list[str]:
    """The question's words that can tell one sentence of a passage from another: not the
    question-form words, not the words of the passage's `context` (see sentence_scores)."""
    words = [t for t in question_tokens if t not in QUESTION_WORDS] or list(question_tokens)
    if context:
        known = words_of(context)
        words = [t for t in words if t not in known]
    return words


def question_weights(
    question_tokens: Sequence[str], idf: Callable[[str], float], context: str = ""
) -> dict[str, float]:
    """The question's words that tell one text from another (sentence_words), each with its
    IDF."""
    return {t: idf(t) for t in sentence_words(question_tokens, context)}


def weighted_share(weights: dict[str, float], present: Set[str]) -> float:
    """The share of the weighted words among `present`: half weighted by IDF (rare words
    matter more), half unweighted (in a small corpus IDF says little)."""
    total = sum(weights.values())
    if total <= 0:
        return 0.0
    matched = [t for t in weights if t in present]
    return 0.5 * sum(weights[t] for t in matched) / total + 0.5 * len(matched) / len(weights)


def share_of_words(
    question_tokens: Sequence[str],
    present: frozenset[str],
    idf: Callable[[str], float],
    context: str = "",
) -> float:
    """The share of the question's words (sentence_words: not the question-form words, not
    `context`'s) among the words `present`, as sentence_scores weighs them."""
    return weighted_share(question_weights(question_tokens, idf, context), present)


def passage_words(text: str, heading_path: str) -> frozenset[str]:
    """The words of a passage and its headings, from the sentences' cached words."""
    words = [w for _, _, w in _sentences_with_words(text)]
    return words_of(heading_path).union(*words)


def sentence_scores(
    question_tokens: Sequence[str],
    text: str,
    idf: Callable[[str], float],
    *,
    context: str = "",
) -> list[Span]:
    """Every sentence of `text` (as corpus.passages.sentence_spans cuts it), in text order,
    scored by the share of the question's words it holds: half weighted by IDF, half not.

    `context` is what the passage is about as a whole (its title and heading path): question
    words it holds say nothing about which sentence answers ("What is Israel's national
    anthem?" in Israel > National anthem(s) is answered by the line naming the anthem, not by
    the one that repeats "anthem")."""
    weights = question_weights(question_tokens, idf, context)
    return [
        Span(start, end, weighted_share(weights, present))
        for start, end, present in _sentences_with_words(text)
    ]
