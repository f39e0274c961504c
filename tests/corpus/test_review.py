"""The ingest report's doubts: page furniture the parsers kept is reported, prose is not."""

from __future__ import annotations

from pathlib import Path

import pytest

from cultureqa.corpus.loader import parse_file
from cultureqa.corpus.review import looks_like_furniture, review_article


@pytest.mark.parametrize(
    "text",
    [
        "Home › Travel › Asia › Japan",
        "Start | Regions | Food | Contact",
        "Home\nRegions\nFood and drink\nAbout us\nContact",
    ],
)
def test_link_trails_and_menus_look_like_furniture(text: str) -> None:
    assert looks_like_furniture(text)


@pytest.mark.parametrize(
    "text",
    [
        "Kyoto has more than a thousand temples. Many are open to visitors.",
        "Rice > bread, say most people in Kyoto.",
        "Tea\nis served\nwith sweets.\nAlways.",
        "Prices are 100 / 200 yen",
    ],
)
def test_prose_does_not(text: str) -> None:
    assert not looks_like_furniture(text)


def test_a_kept_menu_is_a_warning_in_the_report(tmp_path: Path) -> None:
    page = tmp_path / "kyoto.md"
    page.write_text(
        "# Kyoto\n\nHome\nRegions\nFood\nContact\n\n"
        "Kyoto has more than a thousand temples. Many are open to visitors.\n",
        encoding="utf-8",
    )
    [article] = parse_file(page)
    [doubt] = review_article(article)
    assert "page furniture" in doubt and "Home Regions Food Contact" in doubt


def test_an_article_of_prose_has_no_furniture_warning(tmp_path: Path) -> None:
    page = tmp_path / "kyoto.md"
    page.write_text(
        "# Kyoto\n\nKyoto has more than a thousand temples. Many are open to visitors.\n",
        encoding="utf-8",
    )
    [article] = parse_file(page)
    assert review_article(article) == []
