"""Split raw text into blank-line-separated blocks, remembering where each starts."""

from __future__ import annotations

from cultureqa.corpus.model import Paragraph


def split_blocks(text: str, first_line: int = 1) -> list[Paragraph]:
    """Blocks of consecutive non-blank lines, each with its 1-based starting line.

    Lines keep their inner text; trailing white space is dropped. `first_line` is the line
    number of `text`'s first line in the file (for bodies that follow front matter).
    """
    blocks: list[Paragraph] = []
    lines: list[str] = []
    start = first_line
    for number, line in enumerate(text.splitlines(), start=first_line):
        if line.strip():
            if not lines:
                start = number
            lines.append(line.rstrip())
        elif lines:
            blocks.append(Paragraph("\n".join(lines), start))
            lines = []
    if lines:
        blocks.append(Paragraph("\n".join(lines), start))
    return blocks
