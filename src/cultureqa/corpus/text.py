"""Plain-text articles whose headings are bare lines, as pages saved from the web often are.

The rules, in order, for each blank-line-separated block:
- the first block, if it is a single short line, is the title;
- page furniture is dropped: a breadcrumb ("Home / Hamhung culture") and a link list (a long
  block with no sentence in it, such as a trailing list of country links);
- a single short line with no closing punctuation, followed by more text, is a heading;
- everything else is a paragraph, kept exactly as written.

Pages saved without blank lines are read as the page meant them: a text with no blank line
between its lines is read line by line, and a short heading-like line glued to the paragraph
under it (the next line ends a sentence) is a heading and a paragraph.

Heading levels are inferred: a heading followed directly by another heading opens a chapter,
and the headings after it are its sub-sections until the next chapter opens. Text cannot say
when a chapter closes, so a later top-level section with no sub-sections of its own is read as
one more sub-section. Use Markdown when the exact structure matters.
"""

from __future__ import annotations

import re

from cultureqa.corpus.blocks import split_blocks
from cultureqa.corpus.model import Article, Paragraph, build_sections, slugify
from cultureqa.corpus.source import SourceFile

MAX_HEADING_WORDS = 14
# A heading glued to its paragraph is told from the first line of a hard-wrapped paragraph by
# being short: at most this many words, and at most this share of the next line's length
# (hard-wrapped lines are of like length).
MAX_GLUED_HEADING_WORDS = 8
MAX_GLUED_HEADING_SHARE = 0.5
MIN_LINK_LIST_WORDS = 25
_SENTENCE_END = re.compile(r"[.!?…][\"'”’)\]]*(\s|$)")
_BREADCRUMB = re.compile(r"^\s*(home|start|main page)\s*[/›>»|]", re.IGNORECASE)
_CLOSING_PUNCTUATION = tuple(".!?:;,…")


def is_breadcrumb(block: str) -> bool:
    return "\n" not in block and len(block.split()) <= 12 and bool(_BREADCRUMB.match(block))


def is_link_list(block: str) -> bool:
    """A long run of words with not one sentence in it: navigation, tags or related links."""
    return len(block.split()) >= MIN_LINK_LIST_WORDS and not _SENTENCE_END.search(block)


def is_heading_line(block: str) -> bool:
    words = block.split()
    return (
        "\n" not in block
        and 0 < len(words) <= MAX_HEADING_WORDS
        and not block.rstrip().endswith(_CLOSING_PUNCTUATION)
        and (block.lstrip()[0].isupper() or block.lstrip()[0].isdigit())
    )


def _is_title_line(block: str) -> bool:
    return "\n" not in block and len(block.split()) <= 30 and not block.rstrip().endswith(".")


def unglued(blocks: list[Paragraph]) -> list[Paragraph]:
    """The blocks with lines that were not separated by blank lines told apart (see above)."""
    if len(blocks) == 1 and blocks[0].text.count("\n") >= 2:
        only = blocks[0]
        return [
            Paragraph(line, only.line + i)
            for i, line in enumerate(only.text.split("\n"))
            if line.strip()
        ]
    out: list[Paragraph] = []
    for block in blocks:
        first, glued, rest = block.text.partition("\n")
        next_line = rest.split("\n", 1)[0]
        if (
            glued
            and is_heading_line(first)
            and len(first.split()) <= MAX_GLUED_HEADING_WORDS
            and len(first) <= MAX_GLUED_HEADING_SHARE * len(next_line)
            and _SENTENCE_END.search(next_line + " ")
        ):
            out += [Paragraph(first, block.line), Paragraph(rest, block.line + 1)]
        else:
            out.append(block)
    return out


def parse_text(text: str, source: SourceFile) -> list[Article]:
    raw = unglued(split_blocks(text))
    title, title_from = source.path.stem, "file name"
    if raw and _is_title_line(raw[0].text):
        title, title_from = raw.pop(0).text.strip(), "first line"
    kept = [b for b in raw if not (is_breadcrumb(b.text) or is_link_list(b.text))]

    blocks: list[tuple[str, ...] | Paragraph] = []
    chapter: str | None = None
    for i, block in enumerate(kept):
        following = kept[i + 1] if i + 1 < len(kept) else None
        if following is None or not is_heading_line(block.text):
            blocks.append(block)
            continue
        heading = block.text.strip()
        if is_heading_line(following.text):
            chapter = heading
            blocks.append((heading,))
        else:
            blocks.append((chapter, heading) if chapter else (heading,))

    return [
        Article(
            id=slugify(source.path.stem),
            title=title,
            sections=build_sections(blocks),
            source_file=source.display,
            title_from=title_from,
        )
    ]
