"""Sentence spans and the sentence that best matches a question."""

from __future__ import annotations

import pytest

from cultureqa.highlight import best_spans, coverage, sentence_spans
from cultureqa.lexical import tokenize

TEXT = (
    "While Hamhung's factories hum, the city clings to tradition. Dishes like Hamhung "
    "naengmyeon (a cold buckwheat noodle dish) are regional specialties.\n"
    "name: Dodoma"
)


def flat_idf(token: str) -> float:
    return 1.0


def test_sentence_spans_cover_each_sentence_and_line() -> None:
    spans = sentence_spans(TEXT)
    pieces = [TEXT[a:b] for a, b in spans]
    assert pieces == [
        "While Hamhung's factories hum, the city clings to tradition.",
        "Dishes like Hamhung naengmyeon (a cold buckwheat noodle dish) are regional specialties.",
        "name: Dodoma",
    ]


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("What cold noodle dish is Hamhung known for?", "Dishes like"),
        ("What is the capital's name?", "name: Dodoma"),
        ("Does the city keep its traditions?", "While Hamhung"),
    ],
)
def test_best_span_is_the_matching_sentence(question: str, expected: str) -> None:
    (span,) = best_spans(tokenize(question), TEXT, flat_idf)
    assert TEXT[span.start : span.end].startswith(expected)
    assert 0 < span.score <= 1


def test_no_match_still_points_at_the_first_sentence() -> None:
    (span,) = best_spans(tokenize("zebra"), TEXT, flat_idf)
    assert span.start == 0 and span.score == 0


def test_coverage_weighs_rare_words_more() -> None:
    tokens = tokenize("naengmyeon noodle")

    weights = {"naengmyeon": 3.0}

    def idf(word: str) -> float:
        return weights.get(word, 1.0)

    assert coverage(tokens, "naengmyeon", idf) == pytest.approx(0.75)
    assert coverage(tokens, "noodle", idf) == pytest.approx(0.25)
    assert coverage([], "anything", idf) == 0.0
