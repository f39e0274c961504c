"""`cultureqa eval`: the baselines side by side, JSON, misses, BEIR sets (real model)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from cultureqa.cli import cli
from cultureqa.evaluation.beir import ndcg_at_10
from tests.helpers import SEED_DEV, require_shared

pytestmark = pytest.mark.slow


def test_eval_prints_every_retriever(seed_index: Path) -> None:
    done = CliRunner().invoke(
        cli, ["eval", str(require_shared(SEED_DEV)), "--index-dir", str(seed_index), "--verbose"]
    )
    assert done.exit_code == 0, done.output
    lines = done.stdout.splitlines()
    assert lines[0].startswith("seed-dev.jsonl: 7 questions, 6 passages")
    rows = {line.split()[0]: line.split()[1:] for line in lines[2:5]}
    assert set(rows) == {"default", "bm25", "dense"}
    assert rows["default"][0] == "1.000"
    assert "Misses of default (gold not ranked first): 0" in done.output


def test_eval_json_has_the_figures_and_baselines(seed_index: Path) -> None:
    done = CliRunner().invoke(
        cli,
        ["eval", str(SEED_DEV), "--index-dir", str(seed_index), "--json", "--retriever", "bm25"],
    )
    assert done.exit_code == 0, done.output
    body = json.loads(done.stdout)
    for key in ("questions", "passages", "recall@1", "recall@5", "recall@10", "mrr@10"):
        assert key in body
    assert body["retriever"] == "bm25"
    assert body["questions"] == 7 and body["passages"] == 6
    assert set(body["baselines"]) == {"default", "dense"}


def test_eval_scores_a_beir_directory(tmp_path: Path) -> None:
    beir = tmp_path / "tiny"
    (beir / "qrels").mkdir(parents=True)
    docs = [
        ("d1", "Noodles", "Naengmyeon is a cold buckwheat noodle dish from Hamhung."),
        ("d2", "Fertilizer", "The Hungnam Fertilizer Complex is a chemical plant."),
        ("d3", "Markets", "People trade in markets by barter."),
    ]
    (beir / "corpus.jsonl").write_text(
        "".join(json.dumps({"_id": i, "title": t, "text": x}) + "\n" for i, t, x in docs)
    )
    queries = [("q1", "cold noodle dish"), ("q2", "chemical plant fertilizer")]
    (beir / "queries.jsonl").write_text(
        "".join(json.dumps({"_id": i, "text": t}) + "\n" for i, t in queries)
    )
    (beir / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td2\t2\n")
    args = ["eval", str(beir), "--index-dir", str(tmp_path / "idx"), "--json"]
    done = CliRunner().invoke(cli, args)
    assert done.exit_code == 0, done.output
    body = json.loads(done.stdout)
    assert body["queries"] == 2 and body["documents"] == 3
    assert body["ndcg@10"]["default"] == pytest.approx(1.0)
    assert body["ndcg@10"]["dense"] == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("ranked", "judged", "expected"),
    [
        (["a", "b"], {"a": 1}, 1.0),
        (["b", "a"], {"a": 1}, 1 / 1.584962500721156),
        (["b", "a"], {"a": 2, "b": 1}, (1 + 2 / 1.584962500721156) / (2 + 1 / 1.584962500721156)),
        (["x"], {"a": 1}, 0.0),
        (["x"], {}, 0.0),
    ],
)
def test_ndcg_at_10(ranked: list[str], judged: dict[str, int], expected: float) -> None:
    assert ndcg_at_10(ranked, judged) == pytest.approx(expected)
