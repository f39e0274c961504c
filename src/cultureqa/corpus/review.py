"""What the ingest report says of each article: where its title came from, how it was cut into
sections, and what looks doubtful (a title taken from the file name, a long text in which no
heading was found)."""

from __future__ import annotations

from dataclasses import dataclass, field

from cultureqa.corpus.model import Article

# A text this long with not one heading found was most likely meant to have some.
LONG_TEXT_WORDS = 400


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
    return doubts


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
