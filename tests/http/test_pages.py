"""The HTML pages, rendered without a server: every value escaped, options documented."""

from __future__ import annotations

from cultureqa.http.articles import ArticleSection, ArticleView
from cultureqa.http.pages import (
    EMBED_PARAMETERS,
    WIDGET_OPTIONS,
    embed_options,
    render_article,
    render_embed,
)
from tests.helpers import REPO

ARTICLE = ArticleView(
    id="a",
    title="T <b>",
    place="P",
    country=None,
    source_url="javascript:alert(1)",
    sections=(
        ArticleSection((), "", ("Lead & <i>more</i>",)),
        ArticleSection(("Chapter", "Section"), "section", ("One.", "Two.")),
        ArticleSection(("Chapter", "Other"), "other", ("Three.",)),
    ),
)


def test_article_headings_nest_and_carry_anchors() -> None:
    html = render_article(ARTICLE)
    assert "<h1>T &lt;b&gt;</h1>" in html
    assert "<p>Lead &amp; &lt;i&gt;more&lt;/i&gt;</p>" in html
    assert html.count("<h2>Chapter</h2>") == 1
    assert '<h3 id="section">Section</h3>' in html
    assert '<h3 id="other">Other</h3>' in html
    assert "javascript" not in html


def test_embed_options_keep_known_names_only() -> None:
    given = {"title": "x" * 600, "lang": "ar", "api": "https://evil", "target": "#x", "bogus": "1"}
    options = embed_options(given)
    assert set(options) == {"title", "lang"}
    assert len(options["title"]) == 500
    html = render_embed({"title": '"><script>alert(1)</script>'})
    assert "<script>alert" not in html
    assert 'data-title="&quot;&gt;&lt;script&gt;' in html


def test_readme_documents_every_option_and_both_snippets() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    embed = readme[readme.index("## Embed it") :]
    for option in WIDGET_OPTIONS:
        assert f"`data-{option.name}`" in embed
    for name in EMBED_PARAMETERS:
        assert f"| `{name}` |" in embed
    assert '<script src="https://qa.example.edu/widget.js" async' in embed
    assert '<iframe src="https://qa.example.edu/embed?' in embed
    assert "docs/widget-desktop.png" in embed
    assert "docs/widget-phone.png" in embed
