"""SQuAD v1.1 JSON, for evaluation: each article an article, each paragraph a section.

Article id = the title as written (`Yuan_dynasty`), so the question sets' `doc` fields match;
the display title has underscores as spaces. Paragraph N is the section with anchor
`paragraph-N` and no heading (SQuAD has none, and a made-up one would only add noise to what
is embedded and searched).
"""

from __future__ import annotations

from typing import Any

from cultureqa.corpus.jsondata import load_json
from cultureqa.corpus.model import Article, Paragraph, Section
from cultureqa.corpus.source import SourceFile
from cultureqa.errors import CorpusError


def is_squad(data: Any) -> bool:
    return (
        isinstance(data, dict)
        and isinstance(data.get("data"), list)
        and all(isinstance(a, dict) and "paragraphs" in a for a in data["data"][:3])
    )


def parse_squad(text: str, source: SourceFile) -> list[Article]:
    data = load_json(text)
    if not is_squad(data):
        raise CorpusError("not a SQuAD file (no 'data' list of articles with paragraphs)")
    articles = []
    for entry in data["data"]:
        if not isinstance(entry, dict) or not isinstance(entry.get("paragraphs", []), list):
            raise CorpusError("a SQuAD article must be an object with a list of paragraphs")
        title = str(entry.get("title", "")).strip()
        if not title:
            raise CorpusError("a SQuAD article has no title")
        sections: list[Section] = []
        for number, paragraph in enumerate(entry.get("paragraphs", []), start=1):
            if not isinstance(paragraph, dict):
                raise CorpusError(f"{title}: paragraph {number} is not an object")
            context = str(paragraph.get("context", "")).strip()
            if context:
                sections.append(Section((), f"paragraph-{number}", (Paragraph(context, number),)))
        articles.append(
            Article(
                id=title,
                title=title.replace("_", " "),
                sections=tuple(sections),
                source_file=source.display,
                language="en",
            )
        )
    return articles
