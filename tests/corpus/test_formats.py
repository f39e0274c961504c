"""HTML and JSONL articles, written by the tests, read through the loader."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cultureqa.corpus import load_corpus
from cultureqa.errors import CorpusError

PAGE = """<!doctype html>
<html lang="en"><head><title>Seoul culture | Example Travel</title>
<link rel="canonical" href="https://example.org/culture/seoul"></head>
<body>
<nav><a href="/">Home</a> / <a href="/asia">Asia</a> / <a href="/korea">Korea</a></nav>
<header><p>Example Travel: the best guides to every city on Earth.</p></header>
<main><article>
<h1>Seoul culture</h1>
<p>Seoul is the capital of South Korea, a city of ten million people that never sleeps.</p>
<h2>Food</h2>
<p>Kimchi is eaten with every meal, and tteokbokki is a favourite snack among students.</p>
<h3>Street food</h3>
<p>Gwangjang Market sells bindaetteok, mung bean pancakes fried in front of you.</p>
<h2>Music</h2>
<p>Pansori is a traditional sung story told by one singer and a drummer.</p>
</article></main>
<footer><p>Copyright 2026 Example Travel. All rights reserved. Privacy policy.</p></footer>
</body></html>
"""


def test_html_keeps_main_text_and_headings_and_drops_furniture(tmp_path: Path) -> None:
    (tmp_path / "seoul.html").write_text(PAGE, encoding="utf-8")
    [article] = load_corpus([tmp_path]).articles
    assert article.id == "seoul"
    assert article.title == "Seoul culture"
    assert article.source_url == "https://example.org/culture/seoul"
    assert [s.headings for s in article.sections] == [
        (),
        ("Food",),
        ("Food", "Street food"),
        ("Music",),
    ]
    text = "\n".join(p.text for s in article.sections for p in s.paragraphs)
    assert "Gwangjang Market sells bindaetteok" in text
    for furniture in ("Copyright", "Privacy", "Home", "best guides"):
        assert furniture not in text


def test_html_without_main_text_is_skipped(tmp_path: Path) -> None:
    (tmp_path / "empty.html").write_text("<html><body><nav>Home</nav></body></html>")
    corpus = load_corpus([tmp_path])
    assert corpus.articles == []
    assert [s.reason for s in corpus.skipped] == ["no text found"]


def jsonl(*records: object) -> str:
    return "\n".join(r if isinstance(r, str) else json.dumps(r) for r in records) + "\n"


def test_jsonl_articles(tmp_path: Path) -> None:
    (tmp_path / "a.jsonl").write_text(
        jsonl(
            {
                "id": "seoul",
                "title": "Seoul",
                "url": "https://example.org/seoul",
                "country": "South Korea",
                "sections": [
                    {"text": "Lead."},
                    {"heading": "Food", "text": "Kimchi.\n\nTteokbokki."},
                    {"headings": ["Food", "Street food"], "text": "Bindaetteok."},
                ],
            },
            "",
            {"id": "lima", "title": "Lima", "text": "Ceviche is raw fish in lime."},
        )
    )
    seoul, lima = load_corpus([tmp_path]).articles
    assert (seoul.id, seoul.source_url, seoul.country) == (
        "seoul",
        "https://example.org/seoul",
        "South Korea",
    )
    assert [(s.headings, len(s.paragraphs)) for s in seoul.sections] == [
        ((), 1),
        (("Food",), 2),
        (("Food", "Street food"), 1),
    ]
    assert lima.sections[0].paragraphs[0].line == 3


@pytest.mark.parametrize(
    ("bad_line", "reason"),
    [
        ("{not json", "line 2: Expecting property name"),
        ('["a list"]', "line 2: each line must be a JSON object"),
        ('{"id": "x", "text": "t"}', "line 2: 'title' must be a non-empty string"),
        ('{"id": "x", "title": "X"}', "line 2: give 'sections' or 'text'"),
        (
            '{"id": "x", "title": "X", "sections": [{"heading": 3, "text": "t"}]}',
            "line 2: 'heading'",
        ),
    ],
)
def test_jsonl_bad_line_skips_the_file_with_its_line(
    tmp_path: Path, bad_line: str, reason: str
) -> None:
    good = json.dumps({"id": "ok", "title": "OK", "text": "Fine."})
    (tmp_path / "b.jsonl").write_text(f"{good}\n{bad_line}\n")
    corpus = load_corpus([tmp_path])
    assert corpus.articles == []
    [skipped] = corpus.skipped
    assert skipped.path.endswith("b.jsonl")
    assert skipped.reason.startswith(reason)
    with pytest.raises(CorpusError, match=r"b\.jsonl: line 2"):
        load_corpus([tmp_path], strict=True)


def test_deeply_nested_inputs_are_refused_not_crashed() -> None:
    # Found by the hypothesis tests: json and PyYAML recurse, and Python's stack runs out.
    from cultureqa.corpus.loader import PARSERS
    from cultureqa.corpus.source import SourceFile
    from cultureqa.errors import CorpusError

    source = SourceFile(Path("deep.md"), "deep.md")
    with pytest.raises(CorpusError, match="nested too deeply"):
        PARSERS["jsonl"]("[" * 100_000, source)
    with pytest.raises(CorpusError, match="nested too deeply"):
        PARSERS["markdown"]("---\ntitle: " + "[" * 5000 + "\n---\n# T\n\nText.\n", source)
    with pytest.raises(CorpusError, match="longer than 20000"):
        PARSERS["markdown"]("---\ntitle: " + "x" * 30_000 + "\n---\n# T\n\nText.\n", source)


def test_front_matter_aliases_are_refused_not_expanded(tmp_path: Path) -> None:
    # "Billion laughs": 7 levels of 10 aliases, 444 bytes, expand to 10 million strings.
    levels = ['a0: &a0 ["lol"]'] + [
        f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 8)
    ]
    bomb = "---\n" + "\n".join(levels) + "\n---\n# Title\n\nText.\n"
    (tmp_path / "bomb.md").write_text(bomb, encoding="utf-8")
    (tmp_path / "fine.md").write_text(
        "---\nid: fine\nplace: Lima\ntags: [food, music]\n---\n# Fine\n\nText.\n", encoding="utf-8"
    )
    corpus = load_corpus([tmp_path])
    assert [a.id for a in corpus.articles] == ["fine"]
    [skipped] = corpus.skipped
    assert "aliases" in skipped.reason
