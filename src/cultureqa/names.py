"""Which articles a question names: a country, a city, an article's title.

An article is known by its title (and the title without a parenthetical, `Victoria (Australia)`
→ `Victoria`), its place and its country. A name is mentioned when all its content words
(stemmed, as BM25 sees them) are among the question's. When one named article's name is a part of
another's (`Guinea` in `Papua New Guinea`), only the longer counts.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from .lexical import tokenize
from .passages import Passage

_PARENTHETICAL = re.compile(r"\s*\([^)]*\)")
MAX_NAME_WORDS = 4  # longer titles are descriptions, not names


@dataclass(frozen=True)
class ArticleNames:
    names: dict[str, list[frozenset[str]]]  # article id → its names, as token sets
    by_token: dict[str, set[str]]  # token → article ids with a name holding it
    rows: dict[str, list[int]]  # article id → its passages' rows

    @classmethod
    def from_passages(cls, passages: Sequence[Passage]) -> ArticleNames:
        names: dict[str, list[frozenset[str]]] = {}
        by_token: dict[str, set[str]] = defaultdict(set)
        rows: dict[str, list[int]] = defaultdict(list)
        for row, passage in enumerate(passages):
            rows[passage.article_id].append(row)
            if passage.article_id in names:
                continue
            found: set[frozenset[str]] = set()
            for raw in (passage.title, passage.place, passage.country):
                if not raw:
                    continue
                for variant in (raw, _PARENTHETICAL.sub("", raw)):
                    tokens = frozenset(tokenize(variant))
                    if tokens and len(tokens) <= MAX_NAME_WORDS:
                        found.add(tokens)
            names[passage.article_id] = sorted(found, key=sorted)
            for tokens in found:
                for token in tokens:
                    by_token[token].add(passage.article_id)
        return cls(names, dict(by_token), dict(rows))

    def named_articles(self, question_tokens: Sequence[str]) -> list[str]:
        present = set(question_tokens)
        matched: dict[str, frozenset[str]] = {}
        for token in present:
            for article in self.by_token.get(token, ()):
                for name in self.names[article]:
                    if name <= present and len(name) > len(matched.get(article, frozenset())):
                        matched[article] = name
        return sorted(
            article
            for article, name in matched.items()
            if not any(name < other for other in matched.values())
        )

    def named_rows(
        self, question_tokens: Sequence[str], also: frozenset[str] = frozenset()
    ) -> list[int]:
        """Rows of the named articles' passages, and of the articles in `also`."""
        articles = set(self.named_articles(question_tokens)) | (also & self.rows.keys())
        return [row for a in sorted(articles) for row in self.rows[a]]
