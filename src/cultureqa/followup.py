"""Follow-up questions: carry the place of the earlier turns into a question that names none.

"And what do people eat there?" after "What is Hamhung known for?" says nothing about Hamhung,
so on its own it retrieves whichever article talks most about food. `resolve_followup` looks
at the question and, when it names no place the corpus knows, at the conversation so far:

- the most recent earlier turn that names a known place (in its question), or whose answer was
  cited from a known article, gives the place (and that article);
- the retrieval query becomes the question plus that place ("And what do people eat there?
  (Hamhung)"), and the carried articles are ranked as if the question had named them (the
  hybrid ranking's named-article bonus, fusion.py).

What it does not do: it does not parse pronouns or grammar (a question that names no place is
treated as leaning on the conversation, even "What is kimchi?"), it knows only the places and
countries in the articles' front matter (not other spellings or nicknames), it never answers
from history alone (retrieval still runs on the corpus), and it carries at most one turn's
place: the newest one that has any.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from .passages import Passage


@dataclass(frozen=True)
class Turn:
    """An earlier exchange as the client remembers it."""

    question: str
    article_id: str | None = None  # the article the shown answer was cited from


@dataclass(frozen=True)
class FollowUp:
    """How to retrieve for one question: the query, and the articles to favour."""

    query: str
    carried_place: str | None = None
    carried_articles: frozenset[str] = field(default_factory=frozenset)

    @property
    def resolved(self) -> bool:
        return self.carried_place is not None or bool(self.carried_articles)


@dataclass(frozen=True)
class PlaceCatalog:
    """The places (and countries) of the corpus's articles, and which articles are about them."""

    places: dict[str, frozenset[str]]  # lower-cased name -> article ids
    article_places: dict[str, str]  # article id -> its place (or country), as written

    @classmethod
    def from_passages(cls, passages: Iterable[Passage]) -> PlaceCatalog:
        places: dict[str, set[str]] = {}
        article_places: dict[str, str] = {}
        for passage in passages:
            for name in (passage.place, passage.country):
                if name and name.strip():
                    places.setdefault(name.strip().lower(), set()).add(passage.article_id)
            where = passage.place or passage.country
            if where and passage.article_id not in article_places:
                article_places[passage.article_id] = where.strip()
        return cls(
            places={name: frozenset(ids) for name, ids in places.items()},
            article_places=article_places,
        )

    def named_in(self, text: str) -> list[str]:
        """Known places named in `text`, as whole words, longest names first."""
        lowered = text.lower()
        found = []
        for name in sorted(self.places, key=len, reverse=True):
            if re.search(rf"(?<!\w){re.escape(name)}(?!\w)", lowered):
                found.append(name)
        return found


def resolve_followup(question: str, history: Sequence[Turn], catalog: PlaceCatalog) -> FollowUp:
    """The retrieval plan for `question` given the earlier turns, oldest first."""
    if not history or catalog.named_in(question):
        return FollowUp(query=question)
    for turn in reversed(history):
        named = catalog.named_in(turn.question)
        if named:
            articles = frozenset().union(*(catalog.places[name] for name in named))
            place = _as_written(named[0], catalog, articles)
            return FollowUp(f"{question} ({place})", place, articles)
        if turn.article_id and turn.article_id in catalog.article_places:
            place = catalog.article_places[turn.article_id]
            return FollowUp(f"{question} ({place})", place, frozenset({turn.article_id}))
    return FollowUp(query=question)


def _as_written(name: str, catalog: PlaceCatalog, articles: frozenset[str]) -> str:
    """The place's spelling from the front matter, rather than its lower-cased key."""
    for article_id in sorted(articles):
        written = catalog.article_places.get(article_id)
        if written and written.lower() == name:
            return written
    return name.title()
