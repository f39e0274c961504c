"""Reading articles: Markdown with front matter, plain text with bare-line headings, the loader."""

from __future__ import annotations

from pathlib import Path

import pytest

from cultureqa.corpus import Article, load_corpus, slugify
from cultureqa.corpus.markdown import parse_markdown
from cultureqa.corpus.source import SourceFile
from cultureqa.corpus.text import is_breadcrumb, is_link_list, parse_text
from cultureqa.errors import CorpusError
from tests.helpers import CORPUS, SEED_TXT, require_shared

SEED_PATHS = [
    (),
    ("The Industrial Heartbeat of Hamhung", "A City Built on Labor and Loyalty"),
    ("The Industrial Heartbeat of Hamhung", "The Contrast of Modernity and Tradition"),
    ("The Shadow of Global Sanctions", "How International Pressure Shapes Daily Life"),
    ("The Shadow of Global Sanctions", "The Resilience of Hamhung’s People"),
    ("The Future of Hamhung in a Changing World",),
]


def seed_paragraphs() -> list[str]:
    """The seed page's paragraphs, read independently of our parsers: every block but the
    title (first), the breadcrumb (second), the headings and the link list (last)."""
    text = require_shared(SEED_TXT).read_text(encoding="utf-8")
    blocks = [b.strip() for b in text.split("\n\n") if b.strip()]
    headings = {h for path in SEED_PATHS for h in path}
    assert blocks[1] == "Home / Hamhung culture"
    assert blocks[-1].startswith("China culture Albania culture")
    return [b for b in blocks[2:-1] if b not in headings]


def md(text: str, name: str = "a.md") -> Article:
    return parse_markdown(text, SourceFile(Path(name), name))[0]


def test_shipped_seed_article_keeps_structure_and_metadata() -> None:
    corpus = load_corpus([CORPUS])
    assert corpus.skipped == []
    [article] = corpus.articles
    assert article.id == "hamhung-culture"
    assert article.title.startswith("Exploring the Unique Culture of Hamhung")
    assert (article.place, article.country, article.language) == ("Hamhung", "North Korea", "en")
    assert [s.headings for s in article.sections] == SEED_PATHS


def test_shipped_seed_article_is_the_seed_text_verbatim_without_furniture() -> None:
    [article] = load_corpus([CORPUS]).articles
    ours = [p.text for s in article.sections for p in s.paragraphs]
    assert ours == seed_paragraphs()
    joined = "\n".join(ours)
    assert "Home / Hamhung culture" not in joined
    assert "Albania culture" not in joined


def test_plain_text_seed_drops_furniture_and_finds_headings() -> None:
    path = require_shared(SEED_TXT)
    [article] = parse_text(path.read_text(encoding="utf-8"), SourceFile(path, "seed.txt"))
    assert article.title.startswith("Exploring the Unique Culture of Hamhung")
    assert [p.text for s in article.sections for p in s.paragraphs] == seed_paragraphs()
    # The nested structure is recovered for the chapters that show it (see text.py's docstring).
    assert [s.headings for s in article.sections][:5] == SEED_PATHS[:5]


@pytest.mark.parametrize(
    ("block", "breadcrumb"),
    [
        ("Home / Hamhung culture", True),
        ("Home › Asia › Korea", True),
        ("Homework is hard / sometimes", False),
        ("Hamhung is a city.", False),
    ],
)
def test_breadcrumbs(block: str, breadcrumb: bool) -> None:
    assert is_breadcrumb(block) is breadcrumb


@pytest.mark.parametrize(
    ("block", "links"),
    [
        (" ".join(f"Country{i} culture" for i in range(20)), True),
        ("St.Helena culture " * 15, True),
        ("A real paragraph. " * 10, False),
        ("Too short to be a list", False),
    ],
)
def test_link_lists(block: str, links: bool) -> None:
    assert is_link_list(block) is links


def test_markdown_front_matter_title_and_nested_headings() -> None:
    article = md(
        "---\nid: my-id\nplace: Seoul\nsource_url: https://example.org/seoul\nlicense: CC0\n---\n"
        "# Seoul\n\nLead text.\n\n## Food\n\n### Street food\n\nTteokbokki.\n\n## Music\n\nK-pop.\n"
    )
    assert article.id == "my-id"
    assert article.title == "Seoul"
    assert article.source_url == "https://example.org/seoul"
    assert article.extra == (("license", "CC0"),)
    assert [(s.headings, s.anchor) for s in article.sections] == [
        ((), ""),
        (("Food", "Street food"), "street-food"),
        (("Music",), "music"),
    ]
    assert article.sections[1].paragraphs[0].line == 15
    assert article.aliases == ()


@pytest.mark.parametrize(
    ("front", "aliases"),
    [
        ("aliases: [Burma, Myanmar]", ("Burma", "Myanmar")),
        ("aliases: Burma, Myanmar", ("Burma", "Myanmar")),
        ("aliases: Burmese", ("Burmese",)),
        ("aliases: ['', Burma]", ("Burma",)),
    ],
)
def test_markdown_front_matter_aliases(front: str, aliases: tuple[str, ...]) -> None:
    article = md(f"---\n{front}\n---\n# Myanmar\n\nText.\n")
    assert article.aliases == aliases
    assert article.extra == ()  # a known key, not an extra


def test_markdown_without_front_matter_uses_file_name() -> None:
    article = md("Some text here.\n\n## Part\n\nMore.\n", name="My Article.md")
    assert article.id == "my-article"
    assert article.title == "My Article"


def test_markdown_several_h1_are_sections_not_title() -> None:
    article = md("# One\n\nA.\n\n# Two\n\nB.\n")
    assert [s.headings for s in article.sections] == [("One",), ("Two",)]


def test_markdown_fenced_code_is_not_a_heading() -> None:
    article = md("## Code\n\n```\n# not a heading\n\nstill code\n```\n\nAfter.\n")
    assert [s.headings for s in article.sections] == [("Code",)]
    assert "# not a heading" in article.sections[0].paragraphs[0].text


def test_duplicate_headings_get_distinct_anchors() -> None:
    article = md("## Food\n\nA.\n\n## Food\n\nB.\n")
    assert [s.anchor for s in article.sections] == ["food", "food-1"]


@pytest.mark.parametrize(
    ("heading", "slug"),
    [
        ("The Resilience of Hamhung’s People", "the-resilience-of-hamhungs-people"),
        ("Food & Drink", "food--drink"),
        ("Ünïcode Straße", "ünïcode-straße"),
    ],
)
def test_slugify_matches_github(heading: str, slug: str) -> None:
    assert slugify(heading) == slug


@pytest.mark.parametrize(
    "front_matter",
    ["---\n: [unclosed\n---\nText.\n", "---\n- a list\n---\nText.\n", "---\nid: x\nText.\n"],
)
def test_bad_front_matter_is_a_corpus_error(front_matter: str) -> None:
    with pytest.raises(CorpusError, match=r"a\.md: front matter"):
        md(front_matter)


def test_loader_skips_bad_files_with_reasons(tmp_path: Path) -> None:
    (tmp_path / "good.md").write_text("## A\n\nText.\n", encoding="utf-8")
    (tmp_path / "empty.md").write_text("  \n", encoding="utf-8")
    (tmp_path / "binary.txt").write_bytes(b"\x00\x01\x02")
    (tmp_path / "latin1.txt").write_bytes("caf\xe9".encode("latin-1"))
    (tmp_path / "data.csv").write_text("a,b\n", encoding="utf-8")
    (tmp_path / ".hidden.md").write_text("## H\n\nhidden\n", encoding="utf-8")
    corpus = load_corpus([tmp_path])
    assert [a.id for a in corpus.articles] == ["good"]
    reasons = {Path(s.path).name: s.reason for s in corpus.skipped}
    assert reasons == {
        "binary.txt": "binary file (contains NUL bytes)",
        "data.csv": "unsupported file type '.csv'",
        "empty.md": "empty file",
        "latin1.txt": "not UTF-8 text (byte 3)",
    }


def test_loader_strict_fails_on_first_bad_file(tmp_path: Path) -> None:
    (tmp_path / "empty.md").write_text("", encoding="utf-8")
    with pytest.raises(CorpusError, match=r"empty\.md: empty file"):
        load_corpus([tmp_path], strict=True)


def test_loader_rejects_duplicate_ids(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("---\nid: same\n---\nText.\n", encoding="utf-8")
    (tmp_path / "b.md").write_text("---\nid: same\n---\nText.\n", encoding="utf-8")
    with pytest.raises(CorpusError, match="article id 'same' is used by both"):
        load_corpus([tmp_path])


def test_loader_missing_source(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="no such file or directory"):
        load_corpus([tmp_path / "nope"])


def test_loader_unknown_format() -> None:
    with pytest.raises(CorpusError, match="unknown format 'docx'"):
        load_corpus([CORPUS], "docx")


LINKS = " ".join(f"Country{i} culture" for i in range(20))


@pytest.mark.parametrize(
    "text",
    [
        # Saved without a single blank line.
        "Culture of Lima\nHome / Lima culture\nFood\nCeviche is raw fish cured in lime.\n"
        "Music\nMarinera is danced with handkerchiefs.\n" + LINKS + "\n",
        # Blank lines between sections, but each heading glued to its paragraph.
        "Culture of Lima\n\nHome / Lima culture\n\nFood\nCeviche is raw fish cured in lime.\n\n"
        "Music\nMarinera is danced with handkerchiefs.\n\n" + LINKS + "\n",
    ],
)
def test_plain_text_without_blank_lines_keeps_its_structure(text: str) -> None:
    [article] = parse_text(text, SourceFile(Path("lima.txt"), "lima.txt"))
    assert article.title == "Culture of Lima"
    assert [(s.headings, [p.text for p in s.paragraphs]) for s in article.sections] == [
        (("Food",), ["Ceviche is raw fish cured in lime."]),
        (("Music",), ["Marinera is danced with handkerchiefs."]),
    ]


def test_a_hard_wrapped_paragraph_is_not_taken_for_a_glued_heading() -> None:
    text = (
        "Culture of Lima\n\nThe old centre of Lima is built around\n"
        "a square where the cathedral stands. Processions start there.\n"
    )
    [article] = parse_text(text, SourceFile(Path("lima.txt"), "lima.txt"))
    [section] = article.sections
    assert section.headings == ()
    assert section.paragraphs[0].text.startswith("The old centre of Lima is built around\n")
