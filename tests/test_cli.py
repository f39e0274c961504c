"""The command line, run as a user runs it: the installed `cultureqa` script, real model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from cultureqa.cli import cli
from tests.helpers import ASK_RESPONSE_KEYS, cultureqa

pytestmark = pytest.mark.slow

CONTRAST = "The Industrial Heartbeat of Hamhung > The Contrast of Modernity and Tradition"


@pytest.fixture(scope="module")
def cli_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    index_dir = tmp_path_factory.mktemp("cli-index")
    done = cultureqa("ingest", "corpus", "--index-dir", str(index_dir))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Indexed 1 articles as 6 passages (6 embedded, 0 reused) in ")
    return index_dir


def test_ask_prints_naengmyeon_first_with_its_citation(cli_index: Path) -> None:
    done = cultureqa(
        "ask", "What cold noodle dish is Hamhung known for?", "--index-dir", str(cli_index)
    )
    assert done.returncode == 0, done.stderr
    answer = done.stdout.split("\n", 1)[0]
    assert answer.startswith("Answer: ") and "Hamhung naengmyeon" in answer
    first = "[1] " + done.stdout.split("\n[1] ", 1)[1].split("\n[2] ")[0]
    assert first.startswith("[1] Exploring the Unique Culture of Hamhung")
    assert CONTRAST in first
    assert "corpus/hamhung-culture.md#the-contrast-of-modernity-and-tradition" in first
    assert "naengmyeon" in first


def test_ask_json_is_the_api_object(cli_index: Path) -> None:
    done = cultureqa(
        "ask",
        "What cold noodle dish is Hamhung known for?",
        "--index-dir",
        str(cli_index),
        "--json",
        "--top-k",
        "2",
    )
    assert done.returncode == 0, done.stderr
    body = json.loads(done.stdout)
    assert set(body) == ASK_RESPONSE_KEYS
    assert len(body["passages"]) == 2
    assert "naengmyeon" in body["passages"][0]["text"]
    assert body["passages"][0]["citation"]["heading_path"] == CONTRAST


def test_ask_without_index_fails_with_a_hint(tmp_path: Path) -> None:
    done = cultureqa("ask", "anything", "--index-dir", str(tmp_path / "none"))
    assert done.returncode == 1
    assert "Error: no index in" in done.stderr
    assert "Hint: build one with `cultureqa ingest`" in done.stderr


def test_ingest_reports_skipped_files_and_strict_fails(tmp_path: Path) -> None:
    corpus = tmp_path / "articles"
    corpus.mkdir()
    (corpus / "ok.md").write_text("## Food\n\nKimchi is eaten daily.\n", encoding="utf-8")
    (corpus / "bad.md").write_bytes(b"\x00\x00")
    done = cultureqa("ingest", str(corpus), "--index-dir", str(tmp_path / "idx"))
    assert done.returncode == 0, done.stderr
    assert "bad.md: binary file (contains NUL bytes)" in done.stderr
    assert "skipped 1 files (1 binary file (contains NUL bytes))" in done.stdout
    strict = cultureqa("ingest", str(corpus), "--index-dir", str(tmp_path / "idx2"), "--strict")
    assert strict.returncode == 1
    assert "bad.md: binary file" in strict.stderr
    assert not (tmp_path / "idx2" / "default" / "CURRENT").exists()


def test_ingest_reports_each_article_and_writes_the_report(tmp_path: Path) -> None:
    corpus = tmp_path / "articles"
    corpus.mkdir()
    sentence = "People in the valley grow rice and sell it at the market every week. "
    long_text = "\n\n".join(sentence * 5 for _ in range(10))  # 700 words, no heading
    (corpus / "valley-notes.txt").write_text(long_text + "\n", encoding="utf-8")
    (corpus / "lima.md").write_text(
        "---\ntitle: Lima, City of Kings\n---\n## Food\n\nCeviche is raw fish.\n",
        encoding="utf-8",
    )
    (corpus / "kyoto.md").write_text("# Kyoto\n\n## Temples\n\nMany temples.\n")
    report_path = tmp_path / "report.json"
    done = cultureqa(
        "ingest", str(corpus), "--index-dir", str(tmp_path / "idx"), "--report", str(report_path)
    )
    assert done.returncode == 0, done.stderr
    assert "Indexed 3 articles" in done.stdout and "; 2 warnings" in done.stdout
    assert f"Report: {report_path}" in done.stdout
    assert "Warning: articles/valley-notes.txt (valley-notes): title 'valley-notes' taken " in (
        done.stderr
    )
    assert "no headings found in a long text (700 words)" in done.stderr
    report = json.loads(report_path.read_text(encoding="utf-8"))
    assert report["articles"] == 3 and report["skipped"] == []
    by_id = {a["id"]: a for a in report["per_article"]}
    assert {i: (a["title"], a["title_from"]) for i, a in by_id.items()} == {
        "kyoto": ("Kyoto", "heading"),
        "lima": ("Lima, City of Kings", "front matter"),
        "valley-notes": ("valley-notes", "file name"),
    }
    assert (by_id["kyoto"]["sections"], by_id["kyoto"]["warnings"]) == (1, [])
    assert len(by_id["valley-notes"]["warnings"]) == 2
    assert by_id["lima"]["source_file"] == "articles/lima.md"


def test_ingest_says_it_replaces_sources_and_add_keeps_them(tmp_path: Path) -> None:
    first, second, uploads = tmp_path / "first", tmp_path / "second", tmp_path / "uploads"
    for folder, name in ((first, "lima"), (second, "kyoto"), (uploads / "geo", "seoul")):
        folder.mkdir(parents=True)
        (folder / f"{name}.md").write_text(f"# {name}\n\n{name} has food.\n")
    env = {"CULTUREQA_COLLECTIONS_DIR": str(uploads)}
    common = ["--collection", "geo", "--index-dir", str(tmp_path / "idx")]

    def ingest(*args: str) -> list[str]:
        done = cultureqa("ingest", *args, *common, env=env)
        assert done.returncode == 0, done.stderr
        listed = cultureqa("collections", "--json", "--index-dir", str(tmp_path / "idx"), env=env)
        [geo] = [c for c in json.loads(listed.stdout) if c["name"] == "geo"]
        assert geo["articles"] == len(geo["sources"])  # one article per folder here
        return sorted(Path(s).name for s in geo["sources"])

    # The collection's own folder (admin uploads) is read whatever SOURCES say.
    assert ingest(str(first)) == ["first", "geo"]
    replaced = cultureqa("ingest", str(second), *common, env=env)
    assert f"Replacing the sources of collection 'geo': {first.resolve()} no longer read" in (
        replaced.stderr
    )
    assert ingest(str(first), "--add") == ["first", "geo", "second"]
    assert ingest() == ["first", "geo", "second"]  # without SOURCES: everything recorded


def test_a_re_index_reads_the_sources_with_the_format_they_were_ingested_with(
    tmp_path: Path,
) -> None:
    notes, more = tmp_path / "notes", tmp_path / "more"
    notes.mkdir()
    more.mkdir()
    (notes / "kyoto.txt").write_text("# Kyoto\n\n## Temples\n\nKyoto has many temples.\n")
    (more / "lima.txt").write_text("Lima\n\nLima is known for ceviche.\n")
    common = ["--collection", "notes", "--index-dir", str(tmp_path / "idx")]

    def titles(*args: str) -> dict[str, str]:
        report = tmp_path / "report.json"
        done = cultureqa("ingest", *args, *common, "--report", str(report))
        assert done.returncode == 0, done.stderr
        articles = json.loads(report.read_text())["per_article"]
        return {a["id"]: a["title"] for a in articles}

    assert titles(str(notes), "--format", "markdown") == {"kyoto": "Kyoto"}
    # Read again as Markdown, not by the .txt extension (which would title it "# Kyoto").
    assert titles() == {"kyoto": "Kyoto"}
    listed = cultureqa("collections", "--index-dir", str(tmp_path / "idx"))
    assert "(format markdown)" in listed.stdout
    mixed = cultureqa("ingest", str(more), "--add", "--format", "text", *common)
    assert mixed.returncode == 1
    assert "collection 'notes' is read with --format markdown, not text" in mixed.stderr
    # Added sources are read as the collection's are: as Markdown, where "Lima" is no heading.
    assert titles(str(more), "--add") == {"kyoto": "Kyoto", "lima": "lima"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ask", "q", "--top-k", "0"], "0 is not in the range x>=1"),
        (["ingest", "--format", "docx"], "'docx' is not one of"),
        (["serve", "--port", "70000"], "70000 is not in the range"),
    ],
)
def test_bad_options_are_usage_errors(args: list[str], message: str) -> None:
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2
    assert message in result.output


def test_bad_environment_setting_is_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CULTUREQA_MAX_TOP_K", "-1")
    result = CliRunner().invoke(cli, ["ask", "q"])
    assert result.exit_code == 2
    assert "invalid setting" in result.output


def test_every_command_has_help() -> None:
    for command in ("ingest", "ask", "serve"):
        result = CliRunner().invoke(cli, [command, "--help"])
        assert result.exit_code == 0
        assert "Usage: cli " in result.output or "Usage: " in result.output
        assert len(result.output.splitlines()) > 5
