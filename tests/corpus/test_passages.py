"""Cutting articles into passages that fit the model, losing nothing."""

from __future__ import annotations

import re

import pytest

from cultureqa.corpus import Article, Paragraph, Section, load_corpus
from cultureqa.corpus.passages import embedding_text, split_passages, split_sentences
from cultureqa.embedding.base import Embedder
from tests.corpus.test_corpus import seed_paragraphs
from tests.helpers import CORPUS, FakeEmbedder


def words(text: str) -> list[str]:
    return text.split()


def article(*paragraphs: str, headings: tuple[str, ...] = ("H",)) -> Article:
    section = Section(headings, "h", tuple(Paragraph(p, i + 1) for i, p in enumerate(paragraphs)))
    return Article(id="a", title="T", sections=(section,), source_file="a.md")


@pytest.mark.parametrize(
    "text",
    [
        "One. Two! Three? Four.",
        "Dr. Smith went home. He said “Hello.” Then left.",
        "No terminal punctuation at all",
        "Numbers 3.5 and 4.2 stay put. Next sentence.",
    ],
)
def test_split_sentences_gives_back_the_text(text: str) -> None:
    assert "".join(split_sentences(text)) == text


def test_split_sentences_breaks_at_sentence_ends() -> None:
    assert split_sentences("One. Two! Three? “Four.” Five") == [
        "One. ",
        "Two! ",
        "Three? ",
        "“Four.” ",
        "Five",
    ]


def test_short_section_is_one_passage() -> None:
    [passage] = split_passages(
        article("A short paragraph.", "Another."), FakeEmbedder().count_tokens, 40
    )
    assert passage.text == "A short paragraph.\n\nAnother."
    assert passage.id == "a#h"
    assert (passage.start_line, passage.end_line) == (1, 2)


def test_long_section_splits_at_paragraphs_then_sentences_and_keeps_every_word() -> None:
    fake = FakeEmbedder()
    long_paragraph = " ".join(f"Sentence number {i} has six words." for i in range(30))
    paragraphs = ("First short paragraph.", long_paragraph, "Last one.")
    passages = split_passages(article(*paragraphs), fake.count_tokens, fake.max_tokens)
    assert len(passages) > 3
    assert [p.id for p in passages] == [f"a#h~{i}" for i in range(1, len(passages) + 1)]
    assert words(" ".join(p.text for p in passages)) == words(" ".join(paragraphs))
    for passage in passages:
        assert fake.count_tokens(passage.embedding_text) <= fake.max_tokens
        # Cut at sentence ends: every piece of the long paragraph ends a sentence.
        assert re.search(r"[.]$", passage.text)


def test_a_sentence_longer_than_the_window_is_cut_at_words() -> None:
    fake = FakeEmbedder()
    giant = " ".join(f"w{i}" for i in range(200))
    passages = split_passages(article(giant), fake.count_tokens, fake.max_tokens)
    assert words(" ".join(p.text for p in passages)) == words(giant)
    assert all(fake.count_tokens(p.embedding_text) <= fake.max_tokens for p in passages)


def test_embedding_text_carries_title_and_heading_path() -> None:
    [passage] = split_passages(
        article("Body.", headings=("A", "B")), FakeEmbedder().count_tokens, 40
    )
    assert passage.embedding_text == "T > A > B\nBody."
    assert embedding_text("T", "", "Body.") == "T\nBody."


@pytest.mark.slow
def test_seed_passages_with_the_real_model(real_embedder: Embedder) -> None:
    [seed] = load_corpus([CORPUS]).articles
    passages = split_passages(seed, real_embedder.count_tokens, real_embedder.max_tokens)
    assert [p.heading_path for p in passages] == [
        "",
        "The Industrial Heartbeat of Hamhung > A City Built on Labor and Loyalty",
        "The Industrial Heartbeat of Hamhung > The Contrast of Modernity and Tradition",
        "The Shadow of Global Sanctions > How International Pressure Shapes Daily Life",
        "The Shadow of Global Sanctions > The Resilience of Hamhung’s People",
        "The Future of Hamhung in a Changing World",
    ]
    # Every source paragraph is in exactly one passage, and no passage is cut by the model.
    for paragraph in seed_paragraphs():
        assert sum(paragraph in p.text for p in passages) == 1, paragraph[:40]
    assert all(
        real_embedder.count_tokens(p.embedding_text) <= real_embedder.max_tokens for p in passages
    )
    assert real_embedder.max_tokens == 254  # 256 word pieces less [CLS] and [SEP]


@pytest.mark.slow
def test_real_model_window_splits_a_long_section(real_embedder: Embedder) -> None:
    paragraph = " ".join(
        f"In the year {1900 + i} the festival of the lanterns drew crowds to the river."
        for i in range(60)
    )
    passages = split_passages(
        article(paragraph), real_embedder.count_tokens, real_embedder.max_tokens
    )
    assert len(passages) >= 3
    assert words(" ".join(p.text for p in passages)) == words(paragraph)
    assert all(
        real_embedder.count_tokens(p.embedding_text) <= real_embedder.max_tokens for p in passages
    )
