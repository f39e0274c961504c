"""Factbook profiles and SQuAD files as articles, read from the real files in ../shared/data
(tests/test_factbook_squad.py has the small hand-written cases)."""

from __future__ import annotations

import pytest

from cultureqa.corpus import load_corpus
from tests.helpers import SHARED, require_shared

FACTBOOK = SHARED / "data" / "factbook"
SQUAD = SHARED / "data" / "squad-v1.1-dev" / "dev-v1.1.json"


def test_factbook_profile_is_one_article_with_a_section_per_field() -> None:
    tz = require_shared(FACTBOOK / "africa" / "tz.json")
    corpus = load_corpus([tz], "factbook")
    (article,) = corpus.articles
    assert article.id == "tz"
    assert article.title == "Tanzania"
    paths = {s.heading_path: s for s in article.sections}
    languages = paths["People and Society > Languages"]
    assert "Kiswahili or Swahili (official)" in languages.paragraphs[0].text
    capital = paths["Government > Capital"]
    assert any(p.text.startswith("name: Dodoma") for p in capital.paragraphs)
    text = "\n".join(p.text for s in article.sections for p in s.paragraphs)
    assert "<br>" not in text and "<strong>" not in text and "&ldquo;" not in text
    assert len({s.anchor for s in article.sections}) == len(article.sections)


@pytest.mark.parametrize(("stem", "title"), [("xq", "Arctic Ocean"), ("zn", "Pacific Ocean")])
def test_ocean_profiles_are_named_by_their_background(stem: str, title: str) -> None:
    path = require_shared(FACTBOOK / "oceans" / f"{stem}.json")
    assert load_corpus([path], "factbook").articles[0].title == title


def test_squad_file_gives_an_article_per_title_and_a_section_per_paragraph() -> None:
    corpus = load_corpus([require_shared(SQUAD)], "squad")
    assert len(corpus.articles) == 48
    yuan = next(a for a in corpus.articles if a.id == "Yuan_dynasty")
    assert yuan.title == "Yuan dynasty"
    assert len(yuan.sections) == 47
    assert yuan.sections[2].anchor == "paragraph-3"
    assert yuan.sections[0].headings == ()
