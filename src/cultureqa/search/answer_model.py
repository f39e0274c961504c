"""Which sentence answers, and how likely it is to be right: two small linear models over cheap
evidence, learned on the dev splits.

Every **window** (a sentence and, where an answer shows both, the one after it) of the first
passages is described by a few numbers (WINDOW_FEATURES): its cosine similarity with the
question, its share of the question's words, its passage's rank, whether it is the article's
lead, how far it stands out from the other windows. A linear score over them picks the answer;
then a logistic model over the chosen window's evidence (ANSWER_FEATURES: how far it wins, how
near it is, how near the best passage is) gives the **confidence**, the probability that the
answer shown is right, and no answer is shown below the threshold.

The coefficients live in answer_model.json beside this module, written by `python -m
benchmarks.answer_model fit` from the dev splits only (docs/retrieval.md): the student-style and
everyday-Factbook dev sets and half of BLEnD asked of the Factbook. Hand-set weights (one
similarity, one lexical share, one threshold) could not tell "answers it" from "is about the
same place and topic"; several weak signals, weighed by data, tell them apart better.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

MODEL_FILE = Path(__file__).with_name("answer_model.json")

# A question that asks for a quantity, an age, a time or a date, and what shows one.
ASKS_NUMBER = re.compile(
    r"\b(how (many|much|old|long|often|far|tall|big|large)|what (age|year|time|percent)|when|"
    r"which (year|month|day|century)|at what age|what date)\b",
    re.IGNORECASE,
)
SHOWS_NUMBER = re.compile(
    r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|"
    r"hundred|thousand|million|billion|half|dozen|january|february|march|april|may|june|july|"
    r"august|september|october|november|december|spring|summer|autumn|fall|winter|morning|"
    r"evening|night|noon|midnight|century|daily|weekly|yearly|annual|annually|once|twice)\b",
    re.IGNORECASE,
)


def asks_number(question: str) -> bool:
    return ASKS_NUMBER.search(question) is not None


def shows_number(text: str) -> bool:
    return SHOWS_NUMBER.search(text) is not None


WINDOW_FEATURES = (
    "similarity",  # cosine of the window (mean of its sentences' unit vectors) and the question
    "sentence_similarity",  # cosine of its first sentence alone
    "lexical",  # the sentence's share of the question's words (highlight.sentence_scores)
    "next_lexical",  # the next sentence's share, when the window shows it
    "rank_score",  # its passage's ranking score minus the first passage's (0 or below)
    "first_passage",  # 1 in the first passage
    "second_passage",  # 1 in the second
    "first_sentence",  # 1 for the passage's first sentence (often a topic sentence)
    "lead_passage",  # 1 in the article's lead (before its first heading): about the place
    "gap_to_best",  # similarity minus the best window's (0 for the best)
    "above_median",  # similarity minus the median window's
    "specific",  # cosine with the article's own direction taken out of both vectors
    "passage_lexical",  # the passage's share of the question's words, its title and place aside
    "number_asked_given",  # 1 when the question asks how many, when, what age... and it has one
    "number_asked_missing",  # 1 when the question asks for one and it has none
    "article_lexical",  # the article's share of the question's words (any of its passages)
    "missing_rarity",  # IDF of the rarest question word the article lacks, over the rarest's
    "short",  # 1 for a sentence under 12 words (a list line, a label: "Religions: ...")
    "article_size",  # log10 of the article's passages: a long reference profile, or a short text
    "passage_cosine",  # its passage's cosine with the question (with title and headings)
)

ANSWER_FEATURES = (
    "probability",  # the chosen window's share of exp(score) over all windows
    "margin",  # its score minus the runner-up's
    "score",  # its score itself
    "similarity",
    "sentence_similarity",
    "lexical",
    "next_lexical",
    "above_median",
    "specific",
    "rank_score",
    "lead_passage",
    "passage_lexical",
    "number_asked_given",
    "number_asked_missing",
    "article_lexical",
    "missing_rarity",
    "short",
    "article_size",
    "passage_cosine",
    "passage_similarity",  # cosine of the first passage and the question
    "broad",  # 1 when the question asks about a covered place as a whole
    "bias",
)


@dataclass(frozen=True)
class AnswerModel:
    """Coefficients of the two models (window, answer) and the confidence below which no
    answer is shown, for one kind of article."""

    window: NDArray[np.float64]  # one per WINDOW_FEATURES
    answer: NDArray[np.float64]  # one per ANSWER_FEATURES (logistic)
    threshold: float
    trained_on: str = ""  # what fit it (sets, model, command), for the reader

    def window_scores(self, features: NDArray[np.float64]) -> NDArray[np.float64]:
        scores: NDArray[np.float64] = features @ self.window
        return scores

    def confidence(self, features: NDArray[np.float64]) -> float:
        logit = float(features @ self.answer)
        return 1.0 / (1.0 + math.exp(-max(min(logit, 50.0), -50.0)))

    def to_json(self) -> str:
        return json.dumps(
            {
                "window": dict(zip(WINDOW_FEATURES, self.window.tolist(), strict=True)),
                "answer": dict(zip(ANSWER_FEATURES, self.answer.tolist(), strict=True)),
                "threshold": self.threshold,
                "trained_on": self.trained_on,
            },
            indent=2,
        )

    @classmethod
    def from_json(cls, text: str) -> AnswerModel:
        data = json.loads(text)
        window, answer = data["window"], data["answer"]
        if set(window) != set(WINDOW_FEATURES) or set(answer) != set(ANSWER_FEATURES):
            raise ValueError("answer model: its features are not this version's; refit it")
        return cls(
            np.array([window[name] for name in WINDOW_FEATURES], dtype=np.float64),
            np.array([answer[name] for name in ANSWER_FEATURES], dtype=np.float64),
            float(data["threshold"]),
            str(data.get("trained_on", "")),
        )


# An article most of whose sentences are short (under SHORT_SENTENCE_CHARS, about 12 words) is
# a profile of labelled fields (a Factbook profile: "Religions: Muslim 99%", 40-86 % short);
# else it is prose (course texts, Wikipedia: 10-42 %). Their answers look different (a label
# line and its value, a sentence) and so do their wrong answers: each kind has its own model.
FIELDS_SHORT_SHARE = 0.5
SHORT_SENTENCE_CHARS = 70


@dataclass(frozen=True)
class AnswerModels:
    """One AnswerModel per kind of article."""

    prose: AnswerModel
    fields: AnswerModel
    # The sentence-transformers model whose similarities they were fit on: with another, the
    # confidences are not calibrated (library.make_answerer warns).
    embedding_model: str = ""

    def for_article(self, short_share: float) -> AnswerModel:
        """The model for a question whose first passage's article has this share of short
        sentences."""
        return self.fields if short_share > FIELDS_SHORT_SHARE else self.prose

    def to_json(self) -> str:
        return json.dumps(
            {
                "embedding_model": self.embedding_model,
                "prose": json.loads(self.prose.to_json()),
                "fields": json.loads(self.fields.to_json()),
            },
            indent=2,
        )

    @classmethod
    def from_json(cls, text: str) -> AnswerModels:
        data = json.loads(text)
        return cls(
            AnswerModel.from_json(json.dumps(data["prose"])),
            AnswerModel.from_json(json.dumps(data["fields"])),
            str(data.get("embedding_model", "")),
        )


@lru_cache(maxsize=1)
def default_models() -> AnswerModels:
    """The shipped models (answer_model.json)."""
    return AnswerModels.from_json(MODEL_FILE.read_text(encoding="utf-8"))
