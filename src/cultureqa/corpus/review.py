"""What the ingest report says of each article: where its title came from, how it was cut into
sections, and what looks doubtful (a title taken from the file name, a long text in which no
heading was found)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from cultureqa.corpus.model import Article

# A text this long with not one heading found was most likely meant to have some.
LONG_TEXT_WORDS = 400

# Page furniture the parsers kept: a trail of links ("Home › Travel › Japan") or a menu (a
# few lines of a word or two, none a sentence). The text parser drops the forms it is sure of
# (text.py); these look like it and are reported for a person to check.
_TRAIL = re.compile(r"\s(›|»|>|\||/)\s")
_SENTENCE_END = re.compile(r"[.!?…][\"'”’)\]]*(\s|$)")
MENU_LINES = 4
MENU_LINE_WORDS = 3
TRAIL_WORDS = 16


@dataclass(frozen=True)
class ArticleSummary:
    id: str
    title: str
    title_from: str  # front matter, heading, first line, page title, field or file name
    source_file: str | None
    sections: int
    headings: int  # sections with a heading (the lead has none)
    words: int
    warnings: list[str] = field(default_factory=list)


def review_article(article: Article) -> list[str]:
    """The doubts about one parsed article, in words."""
    doubts = []
    if article.title_from == "file name":
        doubts.append(
            f"title {article.title!r} taken from the file name: no title line, heading or "
            "front matter title found"
        )
    words = sum(len(p.text.split()) for s in article.sections for p in s.paragraphs)
    if words >= LONG_TEXT_WORDS and not any(s.headings for s in article.sections):
        doubts.append(
            f"no headings found in a long text ({words} words): read as one section "
            "(docs/corpus.md says how headings are found)"
        )
    # Records read from data fields (JSON, the Factbook) are not saved pages: their short
    # lists (a country's political parties) are content.
    saved_page = article.title_from != "field"
    furniture = [
        p.text
        for s in article.sections
        for p in s.paragraphs
        if saved_page and looks_like_furniture(p.text)
    ]
    if furniture:
        shown = " ".join(furniture[0].split())[:60]
        doubts.append(
            f"kept {len(furniture)} block(s) that look like page furniture (a link trail or a "
            f"menu), e.g. {shown!r}: remove them from the source if they are not the article"
        )
    return doubts


def looks_like_furniture(text: str) -> bool:
    """A link trail (two or more separators such as "›" or "|" between a few words, no
    sentence) or a menu (MENU_LINES or more lines of a word or two, none a sentence)."""
    if _SENTENCE_END.search(text):
        return False
    if len(text.split()) <= TRAIL_WORDS and len(_TRAIL.findall(f" {text} ")) >= 2:
        return True
    lines = [line for line in text.splitlines() if line.strip()]
    return len(lines) >= MENU_LINES and all(len(line.split()) <= MENU_LINE_WORDS for line in lines)


def summarize(article: Article, warnings: list[str]) -> ArticleSummary:
    return ArticleSummary(
        id=article.id,
        title=article.title,
        title_from=article.title_from,
        source_file=article.source_file,
        sections=len(article.sections),
        headings=sum(1 for s in article.sections if s.headings),
        words=sum(len(p.text.split()) for s in article.sections for p in s.paragraphs),
        warnings=warnings,
    )
