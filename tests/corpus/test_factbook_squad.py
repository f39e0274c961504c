"""Factbook profiles and SQuAD files: the shared data sets, and small files written here."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cultureqa.corpus import load_corpus
from cultureqa.corpus.factbook import aliases_of, clean
from cultureqa.corpus.passages import split_passages
from tests.helpers import SHARED, cultureqa, require_shared

FACTBOOK = SHARED / "data" / "factbook"
SQUAD = SHARED / "data" / "squad-v1.1-dev" / "dev-v1.1.json"

PROFILE = {
    "Introduction": {"Background": {"text": "A small <strong>mountain</strong> kingdom."}},
    "People and Society": {
        "Languages": {"text": "Dzongkha (official) 24%<br>other 76%", "note": "est. 2005"},
        "Religions": {
            "Buddhist": {"text": "75%"},
            "Hindu": {"text": "22%"},
            "note": "data from &ldquo;2005&rdquo;",
        },
    },
    "Government": {
        "Country name": {"conventional short form": {"text": "Bhutan"}},
        "National symbol(s)": {"text": "mythical thunder dragon (<em>druk</em>)"},
    },
}


@pytest.mark.parametrize(
    ("raw", "plain"),
    [
        ("a <em>b</em> c", "a b c"),
        ("one<br>two<br/>three", "one\ntwo\nthree"),
        ("&ldquo;quoted&rdquo; &amp; more", "“quoted” & more"),
        ("<p>para one</p><p>para two</p>", "para one\npara two"),
    ],
)
def test_clean_html(raw: str, plain: str) -> None:
    assert clean(raw) == plain


def test_factbook_profile(tmp_path: Path) -> None:
    (tmp_path / "bt.json").write_text(json.dumps(PROFILE))
    [article] = load_corpus([tmp_path], "factbook").articles
    assert (article.id, article.title, article.country) == ("bt", "Bhutan", "Bhutan")
    by_path = {s.heading_path: [p.text for p in s.paragraphs] for s in article.sections}
    assert by_path["People and Society > Languages"] == [
        "Dzongkha (official) 24%\nother 76%",
        "note: est. 2005",
    ]
    assert by_path["People and Society > Religions"] == [
        "Buddhist: 75%",
        "Hindu: 22%",
        "note: data from “2005”",
    ]
    assert by_path["Government > National symbol(s)"] == ["mythical thunder dragon (druk)"]
    assert by_path["Introduction > Background"] == ["A small mountain kingdom."]


def test_factbook_aliases_are_the_names_questions_use(tmp_path: Path) -> None:
    profile = {
        **PROFILE,
        "Government": {
            "Country name": {
                "conventional long form": {"text": "Kingdom of Bhutan"},
                "conventional short form": {"text": "Bhutan"},
                "local short form": {"text": "Druk Yul (Dzongkha) or Bhutan"},
                "former": {"text": "Lho Mon, Lho Jong"},
                "abbreviation": {"text": "none"},
            }
        },
        "People and Society": {
            "Nationality": {
                "noun": {"text": "Bhutanese (singular and plural)"},
                "adjective": {"text": "Bhutanese"},
            }
        },
    }
    (tmp_path / "bt.json").write_text(json.dumps(profile))
    [article] = load_corpus([tmp_path], "factbook").articles
    assert article.aliases == ("Kingdom of Bhutan", "Druk Yul", "Lho Mon", "Lho Jong", "Bhutanese")
    [first, *_] = split_passages(article, lambda text: len(text.split()), 256)
    assert first.aliases == article.aliases  # every passage carries its article's names


def test_a_long_form_with_a_note_is_no_alias() -> None:
    profile = {
        "Government": {
            "Country name": {
                "conventional long form": {
                    "text": "United Kingdom of Great Britain and Northern Ireland; note - ..."
                },
                "abbreviation": {"text": "UK"},
            }
        },
        "People and Society": {
            "Nationality": {
                "noun": {"text": "Briton(s), British (collective plural)"},
                "adjective": {"text": "British"},
            }
        },
    }
    assert aliases_of(profile, "United Kingdom") == ("UK", "Briton", "British")


def test_json_is_detected_by_content(tmp_path: Path) -> None:
    (tmp_path / "bt.json").write_text(json.dumps(PROFILE))
    (tmp_path / "qa.json").write_text(
        json.dumps(
            {
                "version": "1.1",
                "data": [
                    {"title": "Yuan_dynasty", "paragraphs": [{"context": "The Yuan.", "qas": []}]}
                ],
            }
        )
    )
    (tmp_path / "other.json").write_text('{"a": 1}')
    corpus = load_corpus([tmp_path])
    assert sorted(a.id for a in corpus.articles) == ["Yuan_dynasty", "bt"]
    assert [s.reason for s in corpus.skipped] == [
        "JSON that is neither a Factbook profile nor a SQuAD file"
    ]


def test_the_whole_factbook_reads_as_261_profiles() -> None:
    corpus = load_corpus([require_shared(FACTBOOK)], "factbook")
    assert len(corpus.articles) == 261
    assert sorted(s.path.rsplit("/", 1)[-1] for s in corpus.skipped) == [
        "LICENSE.md",
        "SOURCE.md",
        "categories.json",
    ]
    titles = {a.id: a.title for a in corpus.articles}
    assert (titles["bt"], titles["gm"], titles["xx"], titles["zn"]) == (
        "Bhutan",
        "Germany",
        "World",
        "Pacific Ocean",
    )
    assert sum(len(a.sections) for a in corpus.articles) > 32_000
    text = " ".join(p.text for a in corpus.articles for s in a.sections for p in s.paragraphs)
    assert "<br>" not in text and "&ldquo;" not in text and "<strong>" not in text


def test_squad_articles_and_paragraphs() -> None:
    corpus = load_corpus([require_shared(SQUAD)], "squad")
    assert len(corpus.articles) == 48
    assert sum(len(a.sections) for a in corpus.articles) == 2067
    yuan = next(a for a in corpus.articles if a.id == "Yuan_dynasty")
    assert yuan.title == "Yuan dynasty"
    assert (yuan.sections[0].heading_path, yuan.sections[0].anchor) == ("", "paragraph-1")


@pytest.mark.slow
def test_ask_bhutan_national_symbol_cites_the_bhutan_profile(tmp_path: Path) -> None:
    # Through the CLI, as a user runs it: Bhutan among its neighbours (India, Nepal,
    # Bangladesh) as a collection of its own. The whole directory is ingested by
    # benchmarks/ingest.py (docs/benchmarks.md); it takes minutes, too long for the suite.
    profiles = [
        str(require_shared(FACTBOOK / "south-asia" / f"{code}.json"))
        for code in ("bt", "in", "np", "bg")
    ]
    index = str(tmp_path / "idx")
    built = cultureqa(
        "ingest",
        *profiles,
        "--format",
        "factbook",
        "--collection",
        "factbook",
        "--index-dir",
        index,
    )
    assert built.returncode == 0, built.stderr
    assert built.stdout.startswith("Indexed 4 articles as ")
    asked = cultureqa(
        "ask",
        "What is the national symbol of Bhutan?",
        "--collection",
        "factbook",
        "--index-dir",
        index,
        "--json",
    )
    assert asked.returncode == 0, asked.stderr
    first = json.loads(asked.stdout)["passages"][0]
    assert first["citation"]["article_id"] == "bt"
    assert first["citation"]["heading_path"] == "Government > National symbol(s)"
    assert "thunder dragon" in first["text"]
