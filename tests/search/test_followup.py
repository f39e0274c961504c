"""Follow-up questions: the place of an earlier turn carried into a question that names none."""

from __future__ import annotations

from pathlib import Path

import pytest

from cultureqa.corpus.passages import Passage
from cultureqa.embedding.base import Embedder
from cultureqa.index.collections import open_index
from cultureqa.search.answer import Answerer
from cultureqa.search.followup import Turn, resolve_followup
from cultureqa.search.library import make_answerer
from cultureqa.search.places import ArticleNames
from cultureqa.settings import Settings


def passage(article_id: str, place: str | None, country: str | None = None) -> Passage:
    return Passage(
        id=f"{article_id}#s",
        article_id=article_id,
        title=article_id,
        headings=("S",),
        anchor="s",
        text="text",
        start_line=1,
        end_line=1,
        place=place,
        country=country,
    )


NAMES = ArticleNames.from_passages(
    [
        passage("hamhung-culture", "Hamhung", "North Korea"),
        passage("kyoto-culture", "Kyoto", "Japan"),
        passage("no-place", None),
    ]
)


@pytest.mark.parametrize(
    ("question", "history", "query", "boost"),
    [
        # No history: nothing to lean on.
        ("And what do people eat there?", [], "And what do people eat there?", set()),
        # The question names a place itself: left alone.
        (
            "What do people eat in Kyoto?",
            [Turn("What is Hamhung known for?")],
            "What do people eat in Kyoto?",
            set(),
        ),
        # A country counts as a place.
        ("Food in japan?", [Turn("What is Hamhung known for?")], "Food in japan?", set()),
        # The place of the earlier question is carried, as the front matter spells it.
        (
            "And what do people eat there?",
            [Turn("what is hamhung known for?")],
            "And what do people eat there? (Hamhung)",
            {"hamhung-culture"},
        ),
        # The newest turn with a place wins.
        (
            "And the food?",
            [Turn("Tell me about Hamhung"), Turn("What about Kyoto?"), Turn("Any temples?")],
            "And the food? (Kyoto)",
            {"kyoto-culture"},
        ),
        # A turn that names no place, but whose answer was cited from an article, carries it.
        (
            "And the food?",
            [Turn("Tell me about the temples", article_id="kyoto-culture")],
            "And the food? (Kyoto)",
            {"kyoto-culture"},
        ),
        # Unknown articles and placeless turns carry nothing.
        ("And the food?", [Turn("Hello", article_id="nope")], "And the food?", set()),
        # An article without a place is still the conversation's: favoured, no place added.
        ("And the food?", [Turn("Hello", article_id="no-place")], "And the food?", {"no-place"}),
        # Whole words only: "Kyotoite" is not Kyoto.
        ("And the food?", [Turn("Who is a Kyotoite?")], "And the food?", set()),
    ],
)
def test_resolve_followup(question: str, history: list[Turn], query: str, boost: set[str]) -> None:
    plan = resolve_followup(question, history, NAMES)
    assert plan.query == query
    assert plan.carried_articles == frozenset(boost)
    assert (plan.carried_place is not None) == (query != question)


def test_carried_country_uses_its_spelling() -> None:
    plan = resolve_followup("What do they eat?", [Turn("Is north korea cold?")], NAMES)
    assert plan.query == "What do they eat? (North Korea)"
    assert plan.carried_articles == {"hamhung-culture"}


@pytest.fixture(scope="module")
def answerer(places_corpus: Path, places_index: Path, real_embedder: Embedder) -> Answerer:
    settings = Settings(corpus_dir=places_corpus, index_dir=places_index)
    return make_answerer(settings, real_embedder, open_index(settings, real_embedder))


FOLLOW_UP = "And what do people eat there?"


@pytest.mark.slow
def test_followup_without_history_finds_the_other_place(answerer: Answerer) -> None:
    # The control: on its own, the follow-up is about Kyoto's food section. Without this,
    # the next test would prove nothing.
    top = answerer.ask(FOLLOW_UP, 3).passages[0]
    assert top.citation.article_id == "kyoto-culture"


@pytest.mark.slow
@pytest.mark.parametrize(
    "history",
    [
        [Turn("What is Hamhung known for?")],
        [Turn("Tell me about the factories", article_id="hamhung-culture")],
        [Turn("What is Hamhung known for?"), Turn("Is it an industrial city?")],
    ],
)
def test_followup_after_hamhung_is_answered_from_hamhung(
    answerer: Answerer, history: list[Turn]
) -> None:
    result = answerer.ask(FOLLOW_UP, 3, history)
    assert result.question == FOLLOW_UP
    top = result.passages[0]
    assert top.citation.article_id == "hamhung-culture"
    assert "naengmyeon" in top.text
    assert [p.rank for p in result.passages] == [1, 2, 3]


@pytest.mark.slow
def test_a_question_naming_another_place_is_not_bent(answerer: Answerer) -> None:
    history = [Turn("What is Hamhung known for?")]
    top = answerer.ask("What do people eat in Kyoto?", 3, history).passages[0]
    assert top.citation.article_id == "kyoto-culture"


@pytest.mark.slow
def test_a_question_naming_its_place_gets_that_place(answerer: Answerer) -> None:
    # Kyoto's "People in Kyoto eat ..." shares more words with the question than Hamhung's food
    # paragraph does; the named place has to outweigh that.
    result = answerer.ask("What do people eat in Hamhung?", 3)
    top = result.passages[0]
    assert top.citation.article_id == "hamhung-culture"
    assert "naengmyeon" in top.text
    # No sentence says "eat": the model picks the answer among the passage's sentences.
    assert result.answer is not None
    assert "Dishes like Hamhung naengmyeon" in result.answer.text
