"""Sentence spans and the sentence that best matches a question."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from cultureqa.corpus.passages import sentence_spans
from cultureqa.index.lexical import tokenize
from cultureqa.search.highlight import Span, answer_span, joins_next, sentence_scores

TEXT = (
    "While Hamhung's factories hum, the city clings to tradition. Dishes like Hamhung "
    "naengmyeon (a cold buckwheat noodle dish) are regional specialties.\n"
    "Name: Dodoma"
)


def flat_idf(token: str) -> float:
    return 1.0


def test_sentence_spans_cover_each_sentence_and_line() -> None:
    spans = sentence_spans(TEXT)
    pieces = [TEXT[a:b] for a, b in spans]
    assert pieces == [
        "While Hamhung's factories hum, the city clings to tradition.",
        "Dishes like Hamhung naengmyeon (a cold buckwheat noodle dish) are regional specialties.",
        "Name: Dodoma",
    ]


def test_a_line_break_inside_a_sentence_is_not_an_end() -> None:
    text = "The market sells dried fish\nand salt from the coast. It opens at dawn."
    assert [text[a:b] for a, b in sentence_spans(text)] == [
        "The market sells dried fish\nand salt from the coast.",
        "It opens at dawn.",
    ]


def best_span(
    tokens: list[str], text: str, idf: Callable[[str], float], *, context: str = ""
) -> Span:
    """The sentence an answer starts from: the best-scoring one, the first among equals."""
    scored = sentence_scores(tokens, text, idf, context=context)
    return max(scored, key=lambda s: (s.score, -s.start))


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("What cold noodle dish is Hamhung known for?", "Dishes like"),
        ("Where is Dodoma?", "Name: Dodoma"),
        ("Does the city keep its traditions?", "While Hamhung"),
    ],
)
def test_best_span_is_the_matching_sentence(question: str, expected: str) -> None:
    span = best_span(tokenize(question), TEXT, flat_idf)
    assert TEXT[span.start : span.end].startswith(expected)
    assert 0 < span.score <= 1


def test_no_match_still_points_at_the_first_sentence() -> None:
    span = best_span(tokenize("zebra"), TEXT, flat_idf)
    assert span.start == 0 and span.score == 0


ANTHEM = (
    'title: "Hatikvah" (The Hope)\n\n'
    "lyrics/music: Naftali Herz IMBER/traditional\n\n"
    "history: adopted 2004; used as the anthem of the Zionist movement since 1897"
)


def test_words_of_the_title_and_headings_do_not_pick_the_sentence() -> None:
    question = tokenize("What is Israel's national anthem?")
    alone = best_span(question, ANTHEM, flat_idf)
    assert ANTHEM[alone.start :].startswith("history:")  # the control: "anthem" decides
    span = best_span(question, ANTHEM, flat_idf, context="Israel Government > National anthem(s)")
    assert ANTHEM[span.start : span.end] == 'title: "Hatikvah" (The Hope)'


HERITAGE = (
    "total World Heritage Sites: 4 (2 cultural, 2 natural)\n\n"
    "selected World Heritage Site locales: Kathmandu Valley (c); Sagarmatha National Park (n)"
)
LONG = (
    "Markets in the city offer glimpses of informal commerce, where traders from the coast sell "
    "dried fish and salt.\n\nThe next paragraph is about something else entirely."
)


def test_a_short_answer_line_takes_the_next_line_with_it() -> None:
    first_end = HERITAGE.index("\n")
    assert answer_span(HERITAGE, Span(0, first_end, 1.0)) == (0, len(HERITAGE))


def test_a_long_answer_sentence_stays_within_its_paragraph() -> None:
    first_end = LONG.index("\n")
    assert answer_span(LONG, Span(0, first_end, 1.0)) == (0, first_end)


def test_a_hard_wrapped_paragraph_joins_its_sentences_a_list_does_not() -> None:
    prose = (
        "The festival is held on the hill above the city every year in July.\nDancers wear "
        "embroidered huipiles and wide skirts for the whole of the long day.\n\nA new one."
    )
    assert joins_next(prose) == [True, False, False]
    listing = "Languages: Arabic (official), Tamazight\nReligions: Muslim 99%"
    assert joins_next(listing) == [True, False]  # a short label line takes the next line
    long_line = "Ethnic groups: Arab-Berber 99%, other 1% of the people who live there today\nNext"
    assert joins_next(long_line) == [False, False]
