"""SQuAD v1.1 JSON, for evaluation: each article an article, each paragraph a section.

Article id = the title as written (`Yuan_dynasty`), so the question sets' `doc` fields match;
the display title has underscores as spaces. Sections are headed `Paragraph N`.
"""

from __future__ import annotations

from typing import Any

from ..errors import CorpusError
from .jsondata import load_json
from .model import Article, Paragraph, build_sections
from .source import SourceFile


def is_squad(data: Any) -> bool:
    return isinstance(data, dict) and isinstance(data.get("data"), list) and "version" in data


def parse_squad(text: str, source: SourceFile) -> list[Article]:
    data = load_json(text)
    if not is_squad(data):
        raise CorpusError("not a SQuAD file (no 'data' list and 'version')")
    articles = []
    for entry in data["data"]:
        if not isinstance(entry, dict) or not isinstance(entry.get("paragraphs", []), list):
            raise CorpusError("a SQuAD article must be an object with a list of paragraphs")
        title = str(entry.get("title", "")).strip()
        if not title:
            raise CorpusError("a SQuAD article has no title")
        blocks: list[tuple[str, ...] | Paragraph] = []
        for number, paragraph in enumerate(entry.get("paragraphs", []), start=1):
            if not isinstance(paragraph, dict):
                raise CorpusError(f"{title}: paragraph {number} is not an object")
            context = str(paragraph.get("context", "")).strip()
            if context:
                blocks.append((f"Paragraph {number}",))
                blocks.append(Paragraph(context, number))
        articles.append(
            Article(
                id=title,
                title=title.replace("_", " "),
                sections=build_sections(blocks),
                source_file=source.display,
                language="en",
            )
        )
    return articles
