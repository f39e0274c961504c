"""Cut articles into passages that fit the model's window, without losing a character.

A passage is a section, or a run of whole paragraphs of it, whose embedding text (title,
heading path and passage text) fits the model's window. A paragraph too long on its own is cut
at sentence boundaries, and a sentence too long on its own at word boundaries. Every paragraph's
text ends up, whole or in consecutive pieces, in exactly one place.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from cultureqa.corpus.model import Article, Section

TokenCounter = Callable[[str], int]

# Bump when the way passages are cut changes: an index built otherwise is then stale.
SPLITTER_VERSION = 2  # 2: plain text read without blank lines (corpus/text.py)

# Where a sentence ends: after . ! ? … (and any closing quotes or brackets), at white space
# before a capital or a digit (and any opening quote or bracket). highlight.py adds line breaks.
SENTENCE_END = r"(?<=[.!?…])[\"'”’)\]]*\s+(?=[\"'“‘(\[]?[A-Z0-9À-ÖØ-Þ])"
_SENTENCE_BREAK = re.compile(SENTENCE_END)
# For answers, a sentence also ends at a blank line, or at a line break before a capital (list
# lines, Factbook values); a line break inside a sentence (hard-wrapped text) is not an end.
_ANSWER_BREAK = re.compile(SENTENCE_END + r"|\n\s*\n\s*" + r"|\n(?=[\"'“‘(\[]?[A-Z0-9À-ÖØ-Þ])")


@dataclass(frozen=True)
class Passage:
    """The unit that is embedded, searched and cited."""

    id: str  # "<article id>#<anchor>" ("<article id>" for the lead), "~N" for the Nth piece
    article_id: str
    title: str
    headings: tuple[str, ...]
    anchor: str
    text: str
    start_line: int  # 1-based, in the source file
    end_line: int
    source_file: str | None = None
    source_url: str | None = None
    place: str | None = None
    country: str | None = None
    aliases: tuple[str, ...] = ()  # the article's other names (corpus.model.Article)

    @property
    def heading_path(self) -> str:
        return " > ".join(self.headings)

    @property
    def embedding_text(self) -> str:
        """What the model sees: title and heading path give a bare paragraph its context."""
        return embedding_text(self.title, self.heading_path, self.text)


def embedding_text(title: str, heading_path: str, text: str) -> str:
    header = f"{title} > {heading_path}" if heading_path else title
    return f"{header}\n{text}"


def split_sentences(text: str) -> list[str]:
    """Sentences of `text`, each keeping its trailing white space, so ''.join() gives it back."""
    pieces: list[str] = []
    start = 0
    for match in _SENTENCE_BREAK.finditer(text):
        pieces.append(text[start : match.end()])
        start = match.end()
    pieces.append(text[start:])
    return [p for p in pieces if p]


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence of `text` (lines of a list count as sentences), white space
    around it left out: the units an answer is chosen from."""
    spans: list[tuple[int, int]] = []
    start = 0
    for match in [*_ANSWER_BREAK.finditer(text), None]:
        end = match.start() if match else len(text)
        piece = text[start:end]
        stripped = piece.strip()
        if stripped:
            lead = len(piece) - len(piece.lstrip())
            spans.append((start + lead, start + lead + len(stripped)))
        if match:
            start = match.end()
    return spans


def _split_words(text: str, fits: Callable[[str], bool]) -> Iterator[str]:
    """Greedy runs of words that fit; a single word that does not fit still goes alone."""
    words = re.findall(r"\S+\s*", text)
    run = ""
    for word in words:
        if run and not fits(run + word):
            yield run
            run = ""
        run += word
    if run:
        yield run


def _pack(pieces: Sequence[str], fits: Callable[[str], bool], joiner: str) -> Iterator[str]:
    """Join consecutive pieces greedily while the result fits."""
    run: str | None = None
    for piece in pieces:
        candidate = piece if run is None else run + joiner + piece
        if run is not None and not fits(candidate):
            yield run
            run = piece
        else:
            run = candidate
    if run is not None:
        yield run


def _section_chunks(
    section: Section, fits: Callable[[str], bool]
) -> Iterator[tuple[str, int, int]]:
    """(text, start line, end line) for each chunk of a section."""
    units: list[tuple[str, int, int]] = []  # paragraph-sized or smaller, with their lines
    for paragraph in section.paragraphs:
        last_line = paragraph.line + paragraph.text.count("\n")
        if fits(paragraph.text):
            units.append((paragraph.text, paragraph.line, last_line))
            continue
        sentences: list[str] = []
        for sentence in split_sentences(paragraph.text):
            sentences.extend([sentence] if fits(sentence) else _split_words(sentence, fits))
        # Pieces of one paragraph are joined back with nothing between: they carry their spaces.
        for piece in _pack(sentences, fits, ""):
            units.append((piece.strip(), paragraph.line, last_line))

    run: list[tuple[str, int, int]] = []
    for unit in units:
        candidate = "\n\n".join(u[0] for u in [*run, unit])
        if run and not fits(candidate):
            yield "\n\n".join(u[0] for u in run), run[0][1], run[-1][2]
            run = []
        run.append(unit)
    if run:
        yield "\n\n".join(u[0] for u in run), run[0][1], run[-1][2]


def split_passages(article: Article, count_tokens: TokenCounter, max_tokens: int) -> list[Passage]:
    """All passages of one article, in document order.

    `count_tokens` counts the model's word pieces in a text (without special tokens);
    `max_tokens` is the model's window less its special tokens.
    """
    passages: list[Passage] = []
    for section in article.sections:
        header_budget = count_tokens(embedding_text(article.title, section.heading_path, ""))
        budget = max(8, max_tokens - header_budget)

        def fits(text: str, budget: int = budget) -> bool:
            return count_tokens(text) <= budget

        chunks = list(_section_chunks(section, fits))
        base_id = f"{article.id}#{section.anchor}" if section.anchor else article.id
        for number, (text, start, end) in enumerate(chunks, start=1):
            passages.append(
                Passage(
                    id=base_id if len(chunks) == 1 else f"{base_id}~{number}",
                    article_id=article.id,
                    title=article.title,
                    headings=section.headings,
                    anchor=section.anchor,
                    text=text,
                    start_line=start,
                    end_line=end,
                    source_file=article.source_file,
                    source_url=article.source_url,
                    place=article.place,
                    country=article.country,
                    aliases=article.aliases,
                )
            )
    return passages
