"""The scoring rule of shared/eval/README.md."""

from __future__ import annotations

from pathlib import Path

import pytest

from cultureqa.errors import CorpusError
from cultureqa.evaluation.questions import Question, first_hit_rank, is_hit, load_questions

Q = Question(id="q", question="?", answers=("Hungnam Fertilizer  Complex", "fertiliser"), doc="hh")


@pytest.mark.parametrize(
    ("article_id", "text", "hit"),
    [
        ("hh", "the iconic Hungnam Fertilizer Complex.", True),
        ("hh", "the iconic HUNGNAM\nfertilizer\tcomplex", True),
        ("hh", "British fertiliser", True),
        ("other", "Hungnam Fertilizer Complex", False),
        ("hh", "Hungnam Fertilizer", False),
    ],
)
def test_hit_rule(article_id: str, text: str, hit: bool) -> None:
    assert is_hit(Q, article_id, text) is hit


def test_first_hit_rank() -> None:
    ranked = [("hh", "nothing"), ("other", "fertiliser"), ("hh", "fertiliser")]
    assert first_hit_rank(Q, ranked) == 3
    assert first_hit_rank(Q, ranked[:2]) is None


def test_load_questions_reports_bad_lines(tmp_path: Path) -> None:
    path = tmp_path / "q.jsonl"
    path.write_text('{"id": "a", "question": "?", "answers": ["x"], "doc": "d"}\n{"id": 1}\n')
    with pytest.raises(CorpusError, match=r"q\.jsonl:2"):
        load_questions(path)
