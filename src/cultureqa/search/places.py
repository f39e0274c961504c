"""Which articles a question names: a country, a city, an article's title.

An article is known by its title (and the title without a parenthetical, `Victoria (Australia)`
→ `Victoria`), its place, its country and its aliases (the Factbook's short, local and former
names and its nationality words: `Burma`, `British`, `Swiss`). A name is mentioned when all its
content words (stemmed, as BM25 sees them) are among the question's. When one named article's
name is a part of another's (`Guinea` in `Papua New Guinea`), only the longer counts. The
ranking favours the articles a question names (fusion.py); a follow-up that names none carries
the place of an earlier turn (followup.py).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from cultureqa.corpus.passages import Passage
from cultureqa.index.lexical import tokenize

_PARENTHETICAL = re.compile(r"\s*\([^)]*\)")
MAX_NAME_WORDS = 4  # longer titles are descriptions, not names


@dataclass(frozen=True)
class ArticleNames:
    names: dict[str, list[tuple[frozenset[str], str]]]  # article id → (name's tokens, as written)
    by_token: dict[str, set[str]]  # token → article ids with a name holding it
    rows: dict[str, list[int]]  # article id → its passages' rows
    places: dict[str, str]  # article id → its place (else country), as written

    @classmethod
    def from_passages(cls, passages: Sequence[Passage]) -> ArticleNames:
        names: dict[str, list[tuple[frozenset[str], str]]] = {}
        by_token: dict[str, set[str]] = defaultdict(set)
        rows: dict[str, list[int]] = defaultdict(list)
        places: dict[str, str] = {}
        for row, passage in enumerate(passages):
            rows[passage.article_id].append(row)
            if passage.article_id in names:
                continue
            where = (passage.place or passage.country or "").strip()
            if where:
                places[passage.article_id] = where
            found: dict[frozenset[str], str] = {}
            for raw in (passage.place, passage.country, passage.title, *passage.aliases):
                if not raw or not raw.strip():
                    continue
                for variant in (raw.strip(), _PARENTHETICAL.sub("", raw).strip()):
                    tokens = frozenset(tokenize(variant))
                    if tokens and len(tokens) <= MAX_NAME_WORDS:
                        found.setdefault(tokens, variant)
            names[passage.article_id] = sorted(found.items(), key=lambda item: sorted(item[0]))
            for tokens in found:
                for token in tokens:
                    by_token[token].add(passage.article_id)
        return cls(names, dict(by_token), dict(rows), places)

    def mentions(self, question_tokens: Sequence[str]) -> dict[str, str]:
        """The articles named by the tokens, each with its name as written. When one mentioned
        name is part of another (`Guinea` of `Papua New Guinea`), only the longer counts."""
        present = set(question_tokens)
        matched: dict[str, tuple[frozenset[str], str]] = {}
        for token in present:
            for article in self.by_token.get(token, ()):
                for name, written in self.names[article]:
                    best = matched.get(article, (frozenset(), ""))[0]
                    if name <= present and len(name) > len(best):
                        matched[article] = (name, written)
        return {
            article: written
            for article, (name, written) in sorted(matched.items())
            if not any(name < other for other, _ in matched.values())
        }

    def named_articles(self, question_tokens: Sequence[str]) -> list[str]:
        return list(self.mentions(question_tokens))

    def named_rows(
        self, question_tokens: Sequence[str], also: frozenset[str] = frozenset()
    ) -> list[int]:
        """Rows of the named articles' passages, and of the articles in `also`."""
        articles = set(self.named_articles(question_tokens)) | (also & self.rows.keys())
        return [row for a in sorted(articles) for row in self.rows[a]]
