"""Follow-up questions: carry the place of the earlier turns into a question that names none.

"And what do people eat there?" after "What is Hamhung known for?" says nothing about Hamhung,
so on its own it retrieves whichever article talks most about food. `resolve_followup` looks
at the question and, when it names no place the corpus knows, at the conversation so far:

- the most recent earlier turn that names an article (its place, country or title, as
  names.py finds them in the question), or whose answer was cited from an article with a
  place, gives the place (and those articles);
- the retrieval query becomes the question plus that place ("And what do people eat there?
  (Hamhung)"), and the carried articles are ranked as if the question had named them (the
  hybrid ranking's named-article bonus, fusion.py).

What it does not do: it does not parse pronouns or grammar (a question that names no place is
treated as leaning on the conversation, even "What is kimchi?"), it knows only the places,
countries and titles of the articles (not other spellings or nicknames), it never answers
from history alone (retrieval still runs on the corpus), and it carries at most one turn's
place: the newest one that has any.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from cultureqa.index.lexical import tokenize
from cultureqa.search.places import ArticleNames


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


def resolve_followup(question: str, history: Sequence[Turn], names: ArticleNames) -> FollowUp:
    """The retrieval plan for `question` given the earlier turns, oldest first."""
    if not history or names.mentions(tokenize(question)):
        return FollowUp(query=question)
    for turn in reversed(history):
        mentioned = names.mentions(tokenize(turn.question))
        if mentioned:
            # Several articles can share a name (a country): its longest spelling, then the first.
            place = max(sorted(mentioned.values()), key=lambda written: len(tokenize(written)))
            return FollowUp(f"{question} ({place})", place, frozenset(mentioned))
        if turn.article_id and turn.article_id in names.places:
            place = names.places[turn.article_id]
            return FollowUp(f"{question} ({place})", place, frozenset({turn.article_id}))
    return FollowUp(query=question)
