"""Articles put back together from their passages, as the article pages show them."""

from __future__ import annotations

from cultureqa.corpus.passages import Passage
from cultureqa.http.articles import find_article


def passage(pid: str, headings: tuple[str, ...], text: str, start: int, end: int) -> Passage:
    article_id, _, anchor = pid.partition("#")
    return Passage(
        id=pid,
        article_id=article_id,
        title="Title",
        headings=headings,
        anchor=anchor.split("~")[0],
        text=text,
        start_line=start,
        end_line=end,
        place="Place",
    )


PASSAGES = [
    passage("a", (), "Lead one.\n\nLead two.", 3, 5),
    passage("a#s~1", ("S",), "First paragraph.\n\nA long one, first half.", 7, 9),
    # The long paragraph was cut between sentences: the next piece starts on its line.
    passage("a#s~2", ("S",), "Second half.\n\nLast paragraph.", 9, 11),
    passage("a#t", ("S", "T"), "Deeper.", 13, 13),
    passage("b#x", ("X",), "Other article.", 1, 1),
]


def test_sections_in_order_with_cut_paragraphs_joined() -> None:
    article = find_article(PASSAGES, "a")
    assert article is not None
    assert (article.title, article.place) == ("Title", "Place")
    assert [(s.headings, s.anchor) for s in article.sections] == [
        ((), ""),
        (("S",), "s"),
        (("S", "T"), "t"),
    ]
    assert article.sections[0].paragraphs == ("Lead one.", "Lead two.")
    assert article.sections[1].paragraphs == (
        "First paragraph.",
        "A long one, first half. Second half.",
        "Last paragraph.",
    )


def test_unknown_article() -> None:
    assert find_article(PASSAGES, "nope") is None
