"""Reading articles: formats, parsers and the values they produce."""

from cultureqa.corpus.loader import (
    FORMATS,
    ArticleWarning,
    Corpus,
    SkippedFile,
    find_files,
    load_corpus,
)
from cultureqa.corpus.model import Article, Paragraph, Section, slugify

__all__ = [
    "FORMATS",
    "Article",
    "ArticleWarning",
    "Corpus",
    "Paragraph",
    "Section",
    "SkippedFile",
    "find_files",
    "load_corpus",
    "slugify",
]
