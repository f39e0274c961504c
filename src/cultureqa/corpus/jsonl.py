"""JSON Lines: one article per line, for corpora exported from other systems.

    {"id": "seoul", "title": "Seoul", "url": "https://...", "place": "Seoul",
     "country": "South Korea", "language": "en",
     "sections": [{"heading": "Food", "text": "..."},
                  {"headings": ["Food", "Street food"], "text": "..."}]}
    {"id": "lima", "title": "Lima", "text": "A whole article as one section."}

`id` and `title` are required, and either `sections` or `text`. A line that is not such an
object makes the whole file fail with its line number: a half-read file would silently lose
articles.
"""

from __future__ import annotations

import json
from typing import Any

from cultureqa.corpus.blocks import split_blocks
from cultureqa.corpus.model import Article, Paragraph, build_sections
from cultureqa.corpus.source import SourceFile
from cultureqa.errors import CorpusError


def _headings(section: dict[str, Any]) -> tuple[str, ...]:
    if "headings" in section:
        headings = section["headings"]
        if not isinstance(headings, list) or not all(isinstance(h, str) for h in headings):
            raise ValueError("'headings' must be a list of strings")
        return tuple(h.strip() for h in headings if h.strip())
    heading = section.get("heading", "")
    if not isinstance(heading, str):
        raise ValueError("'heading' must be a string")
    return (heading.strip(),) if heading.strip() else ()


def _article(data: Any, source: SourceFile, line: int) -> Article:
    if not isinstance(data, dict):
        raise ValueError("each line must be a JSON object")
    for key in ("id", "title"):
        if not isinstance(data.get(key), str) or not data[key].strip():
            raise ValueError(f"'{key}' must be a non-empty string")
    if "sections" in data:
        sections = data["sections"]
        if not isinstance(sections, list):
            raise ValueError("'sections' must be a list")
    elif isinstance(data.get("text"), str):
        sections = [{"text": data["text"]}]
    else:
        raise ValueError("give 'sections' or 'text'")
    blocks: list[tuple[str, ...] | Paragraph] = []
    for section in sections:
        if not isinstance(section, dict) or not isinstance(section.get("text"), str):
            raise ValueError("each section must be an object with a 'text' string")
        headings = _headings(section)
        if headings:
            blocks.append(headings)
        # Paragraph numbers stand in for lines: the whole article sits on one line.
        blocks.extend(Paragraph(p.text, line) for p in split_blocks(section["text"]))

    def optional(key: str) -> str | None:
        value = data.get(key)
        return value.strip() if isinstance(value, str) and value.strip() else None

    return Article(
        id=data["id"].strip(),
        title=data["title"].strip(),
        sections=build_sections(blocks),
        source_file=source.display,
        source_url=optional("url") or optional("source_url"),
        place=optional("place"),
        country=optional("country"),
        language=optional("language"),
    )


def parse_jsonl(text: str, source: SourceFile) -> list[Article]:
    articles: list[Article] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            articles.append(_article(json.loads(line), source, number))
        except ValueError as exc:  # json.JSONDecodeError is a ValueError
            raise CorpusError(f"line {number}: {exc}") from exc
        except RecursionError as exc:  # "[[[[..." deeper than Python's stack
            raise CorpusError(f"line {number}: JSON nested too deeply") from exc
    return articles
