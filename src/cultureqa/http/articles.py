"""Whole articles put back together from the index's passages, for the served article pages.

Citations of articles without a web URL link to `/articles/<id>#<anchor>`; this module gives
those pages their content. It reads the loaded index (passages are stored in document order),
so a page always shows exactly the text that was searched and cited.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cultureqa.corpus.passages import Passage


@dataclass(frozen=True)
class ArticleSection:
    headings: tuple[str, ...]  # outermost first; () for the lead
    anchor: str
    paragraphs: tuple[str, ...]


@dataclass(frozen=True)
class ArticleView:
    id: str
    title: str
    place: str | None
    country: str | None
    source_url: str | None
    sections: tuple[ArticleSection, ...]


def find_article(passages: Sequence[Passage], article_id: str) -> ArticleView | None:
    """The article with this id, sections in order, or None when the index has no such article."""
    own = [p for p in passages if p.article_id == article_id]
    if not own:
        return None
    sections: list[ArticleSection] = []
    texts: list[str] = []
    previous: Passage | None = None
    for passage in own:
        same_section = previous is not None and (previous.anchor, previous.headings) == (
            passage.anchor,
            passage.headings,
        )
        if not same_section:
            if previous is not None:
                sections.append(_section(previous, texts))
            texts = []
        elif previous is not None and previous.end_line >= passage.start_line and texts:
            # A paragraph too long for one passage was cut between sentences: join it back.
            first, *rest = passage.text.split("\n\n")
            texts[-1] = f"{texts[-1]} {first}"
            texts.extend(rest)
            previous = passage
            continue
        texts.extend(passage.text.split("\n\n"))
        previous = passage
    if previous is not None:
        sections.append(_section(previous, texts))
    head = own[0]
    return ArticleView(
        id=article_id,
        title=head.title,
        place=head.place,
        country=head.country,
        source_url=head.source_url,
        sections=tuple(sections),
    )


def _section(passage: Passage, texts: list[str]) -> ArticleSection:
    return ArticleSection(passage.headings, passage.anchor, tuple(t for t in texts if t.strip()))
