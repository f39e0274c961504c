"""The scoring rule of shared/eval/README.md."""

from __future__ import annotations

from pathlib import Path

import pytest

from cultureqa.errors import CorpusError
from cultureqa.evaluation.questions import (
    AnswerScores,
    Outcome,
    Question,
    first_hit_rank,
    is_hit,
    load_blend,
    load_questions,
    score_outcomes,
)
from cultureqa.search.followup import Turn

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


def test_load_questions_reads_unanswerable_items_history_and_style(tmp_path: Path) -> None:
    path = tmp_path / "q.jsonl"
    path.write_text(
        '{"id": "a", "question": "What do they wear?", "answers": [], "doc": null, '
        '"style": "followup", "history": [{"question": "Biggest festival?", "article_id": "ox"}]}\n'
    )
    [question] = load_questions(path)
    assert question.doc is None and not question.answerable
    assert question.style == "followup"
    assert question.history == (Turn("Biggest festival?", "ox"),)


def outcome(doc: str | None, shown: str | None, article: str | None, style: str = "") -> Outcome:
    question = Question("q", "?", ("mbalax",) if doc else (), doc, style=style)
    return Outcome(question, None, None, None, shown, article)


def test_what_a_student_sees_is_counted_right_wrong_or_honest() -> None:
    outcomes = [
        outcome("dakar", "Mbalax is the music.", "dakar"),  # right
        outcome("dakar", "Mbalax is the music.", "mali"),  # the gold text, the wrong article
        outcome("dakar", "Jazz.", "dakar"),  # wrong
        outcome("dakar", None, None),  # not answered: neither right nor wrong
        outcome(None, "Anything.", "dakar", "uncovered"),  # unanswerable, answered: wrong
        outcome(None, None, None, "uncovered"),  # honest
    ]
    scores = AnswerScores.of(outcomes)
    assert (scores.answerable, scores.questions) == (4, 6)
    assert scores.answer_right == pytest.approx(1 / 4)
    assert scores.answer_wrong == pytest.approx(3 / 6)
    assert scores.honest_no_answer == pytest.approx(1 / 2)
    by_style = score_outcomes("default", 1, outcomes).by_style
    assert by_style["uncovered"].honest_no_answer == pytest.approx(1 / 2)
    assert by_style[""].honest_no_answer is None


def test_blend_items_carry_every_annotated_answer(tmp_path: Path) -> None:
    (tmp_path / "annotations").mkdir()
    (tmp_path / "annotations" / "UK_data.json").write_text(
        '{"x-1": {"en_question": "What do kids snack on?", "annotations": '
        '[{"en_answers": ["fruit"]}, {"en_answers": ["crisps", " "]}]}}'
    )
    [item] = load_blend(tmp_path, ["UK"])
    assert (item.question, item.answers, item.doc, item.style) == (
        "What do kids snack on?",
        ("crisps", "fruit"),
        None,
        "UK",
    )
