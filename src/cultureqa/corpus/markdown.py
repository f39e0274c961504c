"""Markdown articles with YAML front matter: the corpus format cultureqa ships its articles in.

    ---
    id: hamhung-culture          # stable article id (default: the file name's slug)
    title: ...                   # default: the single leading "# " heading, else the file name
    place: Hamhung
    country: North Korea
    language: en
    source_url: https://...      # optional; citations link here (+ #anchor) when given
    ---
    # Title
    Lead paragraph.
    ## Section
    ### Sub-section
    Text.

The single leading H1 is the title, not part of heading paths. ATX headings (`#`…`######`) and
fenced code blocks are understood; everything else is kept as paragraph text.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

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

_ATX = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(```|~~~)")
_KNOWN_KEYS = {"id", "title", "place", "country", "aliases", "language", "source_url", "url"}
MAX_FRONT_MATTER_CHARS = 20_000
MAX_FRONT_MATTER_NESTING = 32


class _FrontMatterLoader(yaml.SafeLoader):
    """YAML's safe loader without aliases: front matter needs none, and a few nested aliases
    expand exponentially (444 bytes of "billion laughs" took seconds and hundreds of MB)."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
            raise yaml.composer.ComposerError(
                None, None, "aliases (*name) are not allowed in front matter", mark
            )
        return super().compose_node(parent, index)


def split_front_matter(text: str, source: SourceFile) -> tuple[dict[str, Any], str, int]:
    """Return (front matter, body, line number where the body starts)."""
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        return {}, text, 1
    for end, line in enumerate(lines[1:], start=1):
        if line.strip() in ("---", "..."):
            front = "\n".join(lines[1:end])
            _check_front_matter_size(front, source)
            try:
                meta = yaml.load(front, Loader=_FrontMatterLoader) or {}  # noqa: S506
            except yaml.YAMLError as exc:
                raise CorpusError(
                    f"{source.display}: front matter is not valid YAML: {exc}"
                ) from exc
            except RecursionError as exc:
                raise CorpusError(f"{source.display}: front matter nested too deeply") from exc
            if not isinstance(meta, dict):
                raise CorpusError(f"{source.display}: front matter must be a mapping of keys")
            return meta, "\n".join(lines[end + 1 :]), end + 2
    raise CorpusError(f"{source.display}: front matter opened with '---' is never closed")


def _check_front_matter_size(front: str, source: SourceFile) -> None:
    """Front matter is a few keys: refuse what is huge or deeply nested before YAML reads it
    (PyYAML is slow, and recursive, on deep flow collections like `[[[[...`)."""
    if len(front) > MAX_FRONT_MATTER_CHARS:
        raise CorpusError(
            f"{source.display}: front matter is longer than {MAX_FRONT_MATTER_CHARS} characters"
        )
    depth = deepest = 0
    for char in front:
        if char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth = max(0, depth - 1)
    if deepest > MAX_FRONT_MATTER_NESTING:
        raise CorpusError(f"{source.display}: front matter nested too deeply")


def _blocks(body: str, first_line: int) -> Outline:
    """Headings as (level, text) and paragraphs, in order."""
    out: Outline = []
    para: list[str] = []
    start = first_line
    fence: str | None = None

    def flush() -> None:
        if para:
            out.append(Paragraph("\n".join(para), start))
            para.clear()

    for number, raw in enumerate(body.splitlines(), start=first_line):
        line = raw.rstrip()
        if fence is not None:
            para.append(line)
            if line.lstrip().startswith(fence):
                fence = None
            continue
        fence_match = _FENCE.match(line)
        heading = _ATX.match(line)
        if heading:
            flush()
            out.append((len(heading.group(1)), heading.group(2).strip()))
        elif not line.strip():
            flush()
        else:
            if not para:
                start = number
            para.append(line)
            if fence_match:
                fence = fence_match.group(1)
    flush()
    return out


def parse_markdown(text: str, source: SourceFile) -> list[Article]:
    meta, body, first_line = split_front_matter(text, source)
    leading_h1, blocks = outline_blocks(_blocks(body, first_line))
    title = str(meta.get("title") or "").strip() or leading_h1 or source.path.stem
    if str(meta.get("title") or "").strip():
        title_from = "front matter"
    else:
        title_from = "heading" if leading_h1 else "file name"

    article_id = str(meta.get("id") or slugify(source.path.stem))
    extra = tuple(
        (str(k), str(v)) for k, v in sorted(meta.items()) if k not in _KNOWN_KEYS and v is not None
    )
    return [
        Article(
            id=article_id,
            title=title,
            sections=build_sections(blocks),
            source_file=source.display,
            source_url=_optional(meta.get("source_url") or meta.get("url")),
            place=_optional(meta.get("place")),
            country=_optional(meta.get("country")),
            aliases=_aliases(meta.get("aliases")),
            language=_optional(meta.get("language")),
            extra=extra,
            title_from=title_from,
        )
    ]


def _aliases(value: object) -> tuple[str, ...]:
    """`aliases:` as a YAML list or one comma-separated line (`Burma, Myanmar`)."""
    items = value if isinstance(value, list) else str(value or "").split(",")
    return tuple(name for name in (_optional(item) for item in items) if name)


def _optional(value: object) -> str | None:
    return None if value is None or str(value).strip() == "" else str(value).strip()
