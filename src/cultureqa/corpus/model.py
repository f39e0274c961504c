"""The values a corpus is read into: articles made of sections made of paragraphs."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Paragraph:
    """One block of source text, kept exactly as written."""

    text: str
    line: int  # 1-based line of the source file where the block starts


@dataclass(frozen=True)
class Section:
    """The paragraphs under one heading. `headings` is the path, outermost first; () is the lead."""

    headings: tuple[str, ...]
    anchor: str  # link fragment for the section ("" for the lead: the top of the article)
    paragraphs: tuple[Paragraph, ...]

    @property
    def heading_path(self) -> str:
        return " > ".join(self.headings)


@dataclass(frozen=True)
class Article:
    """A whole article with its metadata. `id` is stable: citations and re-indexing key on it."""

    id: str
    title: str
    sections: tuple[Section, ...]
    source_file: str | None = None
    source_url: str | None = None
    place: str | None = None
    country: str | None = None
    language: str | None = None
    # Other names its place goes by, as questions use them: a short or former name, the
    # people's and the adjective's ("Burma", "British", "Swiss"). Questions naming one are
    # answered from this article (search/places.py).
    aliases: tuple[str, ...] = ()
    extra: tuple[tuple[str, str], ...] = field(default=())
    # Where the title came from, for the ingest report: "front matter", "heading", "first
    # line", "page title", "field" (JSON formats) or "file name".
    title_from: str = "field"


_NOT_SLUG = re.compile(r"[^\w\- ]", flags=re.UNICODE)


def slugify(text: str) -> str:
    """GitHub-style heading slug: lower case, punctuation dropped, spaces to hyphens.

    Matching GitHub means `corpus/x.md#slug` links also work when the corpus is browsed there.
    """
    text = unicodedata.normalize("NFKC", text).strip().lower()
    return _NOT_SLUG.sub("", text).replace(" ", "-")


class AnchorAllocator:
    """Hands out unique anchors within one article, as GitHub does (`a`, `a-1`, `a-2`)."""

    def __init__(self) -> None:
        self._seen: dict[str, int] = {}

    def anchor_for(self, heading: str) -> str:
        base = slugify(heading) or "section"
        count = self._seen.get(base, 0)
        self._seen[base] = count + 1
        return base if count == 0 else f"{base}-{count}"


def build_sections(blocks: Iterable[tuple[str, ...] | Paragraph]) -> tuple[Section, ...]:
    """Group a document's blocks, in order, into sections.

    A block is either a heading, given as its full path (outermost first), or a paragraph.
    Paragraphs before the first heading form the lead section (path (), anchor "").
    A heading with no text of its own (a parent of sub-sections) yields no section: its title
    lives on in its children's heading paths. Every heading takes an anchor, so anchors match
    the ones GitHub gives the same Markdown.
    """
    anchors = AnchorAllocator()
    sections: list[Section] = []
    path: tuple[str, ...] = ()
    anchor = ""
    paragraphs: list[Paragraph] = []
    for block in blocks:
        if isinstance(block, Paragraph):
            paragraphs.append(block)
            continue
        if paragraphs:
            sections.append(Section(path, anchor, tuple(paragraphs)))
        path, anchor, paragraphs = block, anchors.anchor_for(block[-1]), []
    if paragraphs:
        sections.append(Section(path, anchor, tuple(paragraphs)))
    return tuple(sections)


Outline = list[tuple[int, str] | Paragraph]  # headings as (level 1-6, text), in document order


def outline_blocks(items: Outline) -> tuple[str | None, list[tuple[str, ...] | Paragraph]]:
    """Turn headings with levels into heading paths, for build_sections.

    Returns the document's single leading level-1 heading, which is its title and no part of
    any heading path (None when there is no such heading), and the blocks.
    """
    headings = [(i, item) for i, item in enumerate(items) if not isinstance(item, Paragraph)]
    title: str | None = None
    if headings and headings[0][1][0] == 1 and sum(h[0] == 1 for _, h in headings) == 1:
        first, (_, title) = headings[0]
        items = items[:first] + items[first + 1 :]
    stack: list[tuple[int, str]] = []
    blocks: list[tuple[str, ...] | Paragraph] = []
    for item in items:
        if isinstance(item, Paragraph):
            blocks.append(item)
            continue
        while stack and stack[-1][0] >= item[0]:
            stack.pop()
        stack.append(item)
        blocks.append(tuple(text for _, text in stack))
    return title, blocks
