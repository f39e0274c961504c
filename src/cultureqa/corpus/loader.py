"""Find article files, pick a parser for each, and collect what could not be read."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from cultureqa.corpus.factbook import is_profile, parse_factbook
from cultureqa.corpus.html import parse_html
from cultureqa.corpus.jsondata import load_json
from cultureqa.corpus.jsonl import parse_jsonl
from cultureqa.corpus.markdown import parse_markdown
from cultureqa.corpus.model import Article
from cultureqa.corpus.review import ArticleSummary, review_article, summarize
from cultureqa.corpus.source import SourceFile
from cultureqa.corpus.squad import is_squad, parse_squad
from cultureqa.corpus.text import parse_text
from cultureqa.errors import CorpusError

Parser = Callable[[str, SourceFile], list[Article]]

PARSERS: dict[str, Parser] = {
    "markdown": parse_markdown,
    "text": parse_text,
    "html": parse_html,
    "jsonl": parse_jsonl,
    "factbook": parse_factbook,
    "squad": parse_squad,
}
EXTENSIONS: dict[str, str] = {
    ".md": "markdown",
    ".markdown": "markdown",
    ".txt": "text",
    ".html": "html",
    ".htm": "html",
    ".jsonl": "jsonl",
    ".json": "json",  # a Factbook profile or a SQuAD file: which one, the content says
}
FORMATS = ("auto", *PARSERS)


@dataclass(frozen=True)
class SkippedFile:
    path: str
    reason: str


@dataclass(frozen=True)
class ArticleWarning:
    """Something changed or doubtful in an article that was read all the same."""

    path: str
    article_id: str
    message: str

    def __str__(self) -> str:
        return f"{self.path} ({self.article_id}): {self.message}"


@dataclass
class Corpus:
    """The articles read from the sources, every file that was passed over, with why, and the
    warnings about the articles that were read."""

    articles: list[Article] = field(default_factory=list)
    skipped: list[SkippedFile] = field(default_factory=list)
    warnings: list[ArticleWarning] = field(default_factory=list)

    def summaries(self) -> list[ArticleSummary]:
        """Each article for the ingest report, with its warnings."""
        by_article: dict[str, list[str]] = {}
        for warning in self.warnings:
            by_article.setdefault(warning.article_id, []).append(warning.message)
        return [summarize(a, by_article.get(a.id, [])) for a in self.articles]


SAFE_URL_SCHEMES = ("http://", "https://")


def with_safe_source_url(article: Article, path: str) -> tuple[Article, ArticleWarning | None]:
    """The article without a `source_url` that is not http(s) (`javascript:`, `data:`, a bare
    path...), which citations would hand to every client as a link; and a warning saying so."""
    url = article.source_url
    if url is None or url.strip().lower().startswith(SAFE_URL_SCHEMES):
        return article, None
    shown = url if len(url) <= 60 else url[:57] + "..."
    warning = ArticleWarning(
        path, article.id, f"source_url {shown!r} dropped: only http(s) URLs are kept"
    )
    return replace(article, source_url=None), warning


def find_files(sources: Iterable[Path]) -> list[Path]:
    """Every regular file under the sources, in a stable order; hidden files are left out."""
    found: list[Path] = []
    for source in sources:
        if not source.exists():
            raise CorpusError(f"{source}: no such file or directory")
        if source.is_dir():
            found.extend(
                sorted(
                    p
                    for p in source.rglob("*")
                    if p.is_file()
                    and not any(part.startswith(".") for part in p.relative_to(source).parts)
                )
            )
        else:
            found.append(source)
    return found


def format_for(path: Path, fmt: str) -> str | None:
    if fmt != "auto":
        return fmt
    return EXTENSIONS.get(path.suffix.lower())


def parse_json(text: str, source: SourceFile) -> list[Article]:
    """A .json file under --format auto: a SQuAD file or a Factbook profile."""
    data = load_json(text)
    if is_squad(data):
        return parse_squad(text, source)
    if is_profile(data):
        return parse_factbook(text, source)
    raise CorpusError("JSON that is neither a Factbook profile nor a SQuAD file")


def parser_for(name: str) -> Parser:
    """The parser of a format name from EXTENSIONS or FORMATS ("json": the content decides)."""
    return parse_json if name == "json" else PARSERS[name]


def read_text(path: Path) -> str:
    """The file as UTF-8 text; raises CorpusError for unreadable, binary or empty files."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CorpusError(f"cannot read: {exc.strerror or exc}") from exc
    return decode_text(data)


def decode_text(data: bytes) -> str:
    """Bytes of an article file as text; raises CorpusError for binary, non-UTF-8 or empty."""
    if b"\x00" in data[:8192]:
        raise CorpusError("binary file (contains NUL bytes)")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CorpusError(f"not UTF-8 text (byte {exc.start})") from exc
    if not text.strip():
        raise CorpusError("empty file")
    return text


def parse_file(
    path: Path, fmt: str = "auto", data: bytes | None = None, *, root: Path | None = None
) -> list[Article]:
    """The articles of one file (its bytes, when given, instead of reading them), by the parser
    its extension (or `fmt`) names: the one dispatch the loader and the admin API share.
    `root` is the source directory it was found in (see SourceFile.at). Raises CorpusError for
    an unsupported, unreadable or malformed file, or one without text."""
    name = format_for(path, fmt)
    if name is None:
        raise CorpusError(f"unsupported file type {path.suffix or '(none)'!r}")
    text = read_text(path) if data is None else decode_text(data)
    articles = parser_for(name)(text, SourceFile.at(path, root))
    if not any(a.sections for a in articles):
        raise CorpusError("no text found")
    return articles


def load_corpus(sources: Sequence[Path], fmt: str = "auto", *, strict: bool = False) -> Corpus:
    """Read every article under `sources`.

    A file that cannot be read or parsed is skipped and recorded with its reason; with
    `strict`, the first such file raises CorpusError instead. Two articles with one id raise
    CorpusError: ids key citations and re-indexing, so they must be unique.
    """
    if fmt not in FORMATS:
        raise CorpusError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    corpus = Corpus()
    seen: dict[str, str] = {}
    for path, root in ((path, given) for given in sources for path in find_files([given])):
        source = SourceFile.at(path, root)
        try:
            articles = parse_file(path, fmt, root=root)
        except CorpusError as exc:
            if strict:
                raise CorpusError(f"{source.display}: {exc.message}") from exc
            corpus.skipped.append(SkippedFile(source.display, exc.message))
            continue
        for parsed in articles:
            article, warning = with_safe_source_url(parsed, source.display)
            if warning is not None:
                corpus.warnings.append(warning)
            corpus.warnings.extend(
                ArticleWarning(source.display, article.id, doubt)
                for doubt in review_article(article)
            )
            if article.id in seen:
                raise CorpusError(
                    f"article id {article.id!r} is used by both {seen[article.id]} "
                    f"and {source.display}",
                    hint="give one of them another `id:` in its front matter",
                )
            seen[article.id] = source.display
            corpus.articles.append(article)
    return corpus
