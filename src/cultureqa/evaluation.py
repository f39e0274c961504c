"""Score retrieval against question sets with gold answers (the rule of shared/eval/README.md).

A retrieved passage is a hit when its article id equals the question's `doc` and its text
contains one of the `answers`, compared case-insensitively after collapsing runs of white space.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .errors import CorpusError

_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    answers: tuple[str, ...]
    doc: str
    section: str = ""


def normalize(text: str) -> str:
    return _SPACE.sub(" ", text).strip().casefold()


def is_hit(question: Question, article_id: str, text: str) -> bool:
    if article_id != question.doc:
        return False
    haystack = normalize(text)
    return any(normalize(answer) in haystack for answer in question.answers)


def first_hit_rank(question: Question, ranked: Sequence[tuple[str, str]]) -> int | None:
    """1-based rank of the first hit among (article id, text) pairs, or None."""
    for rank, (article_id, text) in enumerate(ranked, start=1):
        if is_hit(question, article_id, text):
            return rank
    return None


def load_questions(path: Path) -> list[Question]:
    questions: list[Question] = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
                questions.append(
                    Question(
                        id=str(data["id"]),
                        question=str(data["question"]),
                        answers=tuple(str(a) for a in data["answers"]),
                        doc=str(data["doc"]),
                        section=str(data.get("section") or ""),
                    )
                )
            except (ValueError, KeyError, TypeError) as exc:
                raise CorpusError(f"{path}:{number}: not a question record: {exc}") from exc
    return questions
