"""HTML pages: the main content, found by trafilatura, with h1-h6 kept as sections.

trafilatura is a maintained boilerplate remover: it drops navigation, footers, sidebars and
cookie banners far more reliably than hand-written rules would. The page's canonical URL (or
og:url) becomes the article's source URL, so citations link to the page itself.
"""

from __future__ import annotations

import logging
from typing import Any

from cultureqa.corpus.model import (
    Article,
    Outline,
    Paragraph,
    build_sections,
    outline_blocks,
    slugify,
)
from cultureqa.corpus.source import SourceFile
from cultureqa.errors import CorpusError

# trafilatura logs every page it finds little in; our loader reports that itself.
logging.getLogger("trafilatura").setLevel(logging.ERROR)


def _text(element: Any) -> str:
    return " ".join("".join(element.itertext()).split())


def _block_text(element: Any) -> str:
    if element.tag == "list":
        items = [_text(item) for item in element if item.tag == "item"]
        return "\n".join(f"- {item}" for item in items if item)
    if element.tag == "table":
        rows = [" | ".join(_text(cell) for cell in row) for row in element if row.tag == "row"]
        return "\n".join(row for row in rows if row.strip(" |"))
    return _text(element)


def parse_html(text: str, source: SourceFile) -> list[Article]:
    import trafilatura

    document: Any = trafilatura.bare_extraction(
        text, with_metadata=True, include_formatting=True, include_tables=True, favor_recall=True
    )
    if document is None or isinstance(document, dict) or document.body is None:
        raise CorpusError("no main text found in the HTML page")
    title = (document.title or "").strip()
    items: Outline = []
    for element in document.body:
        if element.tag == "head":
            rend = element.get("rend") or "h2"
            level = int(rend[1]) if len(rend) == 2 and rend[1].isdigit() else 2
            items.append((level, _text(element)))
        else:
            block = _block_text(element)
            if block:
                # Lines of the page mean little after extraction: number the blocks instead.
                items.append(Paragraph(block, len(items) + 1))
    leading_h1, blocks = outline_blocks(items)
    title_from = "page title" if title else ("heading" if leading_h1 else "file name")
    title = title or leading_h1
    return [
        Article(
            id=slugify(source.path.stem),
            title=title or source.path.stem,
            sections=build_sections(blocks),
            source_file=source.display,
            source_url=(document.url or "").strip() or None,
            language=(getattr(document, "language", None) or None),
            title_from=title_from,
        )
    ]
