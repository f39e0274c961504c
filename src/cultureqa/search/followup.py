"""Follow-up questions: carry the place and the topic of the earlier turns into a question that
leans on them.

"And what do people eat there?" after "What is Hamhung known for?" says nothing about Hamhung,
and "What do people wear for it?" after "What is the biggest festival in Oaxaca?" says nothing
about the festival. `resolve_followup` looks at the question and the conversation so far:

- a question that names no place the corpus knows leans on the newest earlier turn that names
  one (its place, country or title, as places.py finds them), or whose answer was cited from an
  article: that place is added to the retrieval query ("And what do people eat there?
  (Hamhung)"), those articles are ranked as if the question had named them, and the earlier
  questions back to that turn become the follow-up's `context`, the topic it carries (the
  festival, the dish), which the answerer blends into the question's vector;
- a question that names a place is not a follow-up, unless it is only that place ("And in
  Osaka?", "what about Vietnam?"): then it asks the newest earlier question again, about the
  new place: the query is that question with its own places taken out (also the `context`),
  followed by the new one ("What food is famous for? (And in Osaka?)").

What it does not do: it does not parse grammar (a question that names no place leans on the
conversation, even "What is kimchi?"), it knows only the places, countries and titles of the
articles (not other spellings or nicknames), and it never answers from history alone
(retrieval still runs on the corpus).
"""

from __future__ import annotations

import re
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
    context: str = ""  # the earlier question(s) whose topic the question leans on


# Words that make a question "only a place": "and", "what about", "how about", "in", "then".
_ELLIPSIS_WORDS = frozenset(tokenize("and what about how then ok okay so in for there please"))
# The most earlier turns a follow-up's topic reaches back over.
MAX_CONTEXT_TURNS = 3


def resolve_followup(question: str, history: Sequence[Turn], names: ArticleNames) -> FollowUp:
    """The retrieval plan for `question` given the earlier turns, oldest first."""
    if not history:
        return FollowUp(query=question)
    tokens = tokenize(question)
    mentioned = names.mentions(tokens)
    if mentioned:
        if _only_a_place(tokens, mentioned):
            # A standalone question: the earlier one's topic, asked about the new place.
            topic = _without_places(history[-1].question, names)
            return FollowUp(f"{topic} ({question})", context=topic)
        return FollowUp(query=question)
    context: list[str] = []
    for turn in list(reversed(history))[:MAX_CONTEXT_TURNS]:
        context.append(turn.question)
        found = names.mentions(tokenize(turn.question))
        if found:
            # Several articles can share a name (a country): its longest spelling, then the first.
            place = max(sorted(found.values()), key=lambda written: len(tokenize(written)))
            return FollowUp(f"{question} ({place})", place, frozenset(found), " ".join(context))
        if turn.article_id and turn.article_id in names.rows:
            cited = names.places.get(turn.article_id)
            query = f"{question} ({cited})" if cited else question
            return FollowUp(query, cited, frozenset({turn.article_id}), " ".join(context))
    return FollowUp(query=question, context=" ".join(context))


def _only_a_place(tokens: Sequence[str], mentioned: dict[str, str]) -> bool:
    """True for "And in Osaka?" or "what about Vietnam": nothing but places and filler."""
    place_words = {t for written in mentioned.values() for t in tokenize(written)}
    return all(t in place_words or t in _ELLIPSIS_WORDS for t in tokens)


def _without_places(question: str, names: ArticleNames) -> str:
    """The question with the places it names taken out ("What food is Kyoto famous for?" →
    "What food is famous for?"): its topic, to ask about another place."""
    for written in names.mentions(tokenize(question)).values():
        question = re.sub(rf"\b{re.escape(written)}\b", " ", question, flags=re.IGNORECASE)
    return " ".join(question.split())
