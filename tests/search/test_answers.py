"""What a student sees, through the real model on a small corpus: the answer sentence is the one
that answers (not the lead), a follow-up carries its topic, a place no article covers and a
topic the articles lack get an honest "no answer"."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cultureqa.embedding.base import Embedder
from cultureqa.index.collections import open_index
from cultureqa.index.ingest import ingest
from cultureqa.search.answer import Answerer, AnswerWeights
from cultureqa.search.followup import Turn
from cultureqa.search.library import make_answerer
from cultureqa.settings import Settings

pytestmark = pytest.mark.slow

ARTICLES = {
    "marrakech.md": """---
id: marrakech
title: Markets and Tea in Marrakech
place: Marrakech
country: Morocco
---
# Markets and Tea in Marrakech

Marrakech is a city in the foothills of the Atlas Mountains.

## The souk

The medina of Marrakech is a maze of narrow lanes lined with small shops. Each part of the souk
specialises in one trade, with one lane for leather and another for spices and lamps.
Bargaining is expected, and the first price a seller names is often far above what he will
accept. Shoppers who walk away politely are often called back with a better offer.

## Hospitality

Guests in a Moroccan home are welcomed with sweet mint tea, poured from a height to make foam.
Refusing the first glass is considered impolite.
""",
    "oaxaca.md": """---
id: oaxaca
title: Festivals of Oaxaca
place: Oaxaca
country: Mexico
---
# Festivals of Oaxaca

Oaxaca is a state in southern Mexico with many Indigenous communities.

## The Guelaguetza

The biggest festival of the year is the Guelaguetza, held on the hill of the Fortin in July.
Delegations from the regions of the state perform their own dances and share gifts of food.
Dancers wear embroidered huipiles and wide skirts, and the pineapple dancers carry fruit on
their shoulders.

## Food

Oaxaca is known for its seven moles, thick sauces of chillies, spices and chocolate.
""",
    "bergen.md": """---
id: bergen
title: Life in Bergen
place: Bergen
country: Norway
---
# Life in Bergen

Bergen is a port city on the west coast of Norway, known for rain and wooden houses.

## The fish market

The fish market by the harbour has sold fresh catch since the thirteenth century. Locals buy
shrimp, salmon and fish cakes there on Saturday mornings.
""",
}


@pytest.fixture(scope="module")
def answerer(tmp_path_factory: pytest.TempPathFactory, real_embedder: Embedder) -> Answerer:
    root = tmp_path_factory.mktemp("answers")
    corpus = root / "corpus"
    corpus.mkdir()
    for name, text in ARTICLES.items():
        (corpus / name).write_text(text, encoding="utf-8")
    settings = Settings(corpus_dir=corpus, index_dir=root / "index")
    ingest([corpus], root / "index" / "default", real_embedder)
    return make_answerer(settings, real_embedder, open_index(settings, real_embedder))


def test_the_lead_sentence_is_never_shown_as_the_answer(answerer: Answerer) -> None:
    # The lead ("a maze of narrow lanes") is near the question by place and topic; the answer
    # is two sentences later. Shown, the answer must hold it; not sure enough, none is shown.
    result = answerer.ask("Can you haggle over prices in the Marrakech souk?", 3)
    assert result.passages[0].citation.article_id == "marrakech"
    if result.answer is not None:
        assert "Bargaining is expected" in result.answer.text
        assert "maze of narrow lanes" not in result.answer.text


def test_the_answer_shows_the_sentence_that_answers(answerer: Answerer) -> None:
    result = answerer.ask("What fish do people buy at the market in Bergen?", 3)
    assert result.answer is not None
    assert "shrimp, salmon and fish cakes" in result.answer.text


def test_a_follow_up_carries_the_earlier_topic(answerer: Answerer) -> None:
    history = [Turn("What is the biggest festival in Oaxaca?", "oaxaca")]
    result = answerer.ask("What do the dancers wear for it?", 3, history)
    assert result.answer is not None
    assert "huipiles" in result.answer.text


def test_only_a_new_place_asks_the_earlier_question_about_it(answerer: Answerer) -> None:
    plan = answerer.plan("And in Bergen?", [Turn("What food is Oaxaca known for?", "oaxaca")])
    assert plan.carried_articles == frozenset()  # not a follow-up about Oaxaca
    assert "Oaxaca" not in plan.context and "food" in plan.context
    assert "food" in plan.query and "Bergen" in plan.query  # a standalone question
    result = answerer.ask("And in Bergen?", 3, [Turn("What food is Oaxaca known for?", "oaxaca")])
    assert result.passages[0].citation.article_id == "bergen"


@pytest.mark.parametrize(
    ("question", "place"),
    [
        ("What do people in Guatemala wear for festivals?", "Guatemala"),
        ("Can you bargain in the markets of Casablanca?", "Casablanca"),
        ("What fish do people buy in Oslo?", "Oslo"),
    ],
)
def test_a_place_no_article_covers_gets_no_answer_saying_so(
    answerer: Answerer, question: str, place: str
) -> None:
    result = answerer.ask(question, 3)
    assert result.answer is None
    reason = result.no_answer_reason or ""
    assert f"no article here covers {place}" in reason
    assert "Marrakech" in reason and "Oaxaca" in reason and "Bergen" in reason
    assert result.passages  # still offered as related reading


def test_a_topic_the_covered_article_lacks_gets_no_answer(answerer: Answerer) -> None:
    result = answerer.ask("Which football team do people in Bergen support?", 3)
    assert result.answer is None
    assert "closely enough" in (result.no_answer_reason or "")


def test_the_same_question_about_a_covered_place_is_answered(answerer: Answerer) -> None:
    result = answerer.ask("What dishes is Oaxaca known for?", 3)
    assert result.answer is not None
    assert result.answer.citation.article_id == "oaxaca"
    assert "moles" in result.answer.text


def test_sentence_vectors_are_stored_for_every_sentence(answerer: Answerer) -> None:
    sentences = answerer.index.sentences
    for row in range(len(answerer.index.passages)):
        assert len(sentences.rows(row)) >= 1
    norms = (sentences.vectors**2).sum(axis=1)
    assert norms.min() == pytest.approx(1.0, abs=1e-4)


def test_an_unchanged_re_ingest_reuses_sentence_vectors(
    tmp_path: Path, real_embedder: Embedder
) -> None:
    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "bergen.md").write_text(ARTICLES["bergen.md"], encoding="utf-8")
    first = ingest([corpus], tmp_path / "i", real_embedder)
    again = ingest([corpus], tmp_path / "i", real_embedder)
    assert (again.embedded, again.sentences) == (0, first.sentences)
    old = open_index(Settings(index_dir=tmp_path, default_collection="i"), real_embedder)
    assert old.sentences.vectors.shape == (first.sentences, real_embedder.dimension)


def test_a_question_and_context_that_cancel_out_search_with_the_question() -> None:
    # Found by the API fuzzer with the bag-of-words embedder: opposite vectors summed to zero
    # and the division by their norm gave NaN.
    answerer = Answerer.__new__(Answerer)  # query_vector needs only the weights
    answerer._weights = AnswerWeights(context=1.0)
    question = np.array([[0.6, 0.8]], dtype=np.float32)
    vector = answerer.query_vector(np.vstack([question, -question]))
    assert np.array_equal(vector, question)
