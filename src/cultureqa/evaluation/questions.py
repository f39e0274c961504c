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

from tqdm import tqdm

from cultureqa.embedding.base import Embedder
from cultureqa.errors import CorpusError
from cultureqa.index.store import LoadedIndex
from cultureqa.search import RETRIEVERS
from cultureqa.search.answer import Answerer
from cultureqa.search.places import ArticleNames
from cultureqa.search.retrieval import make_retriever

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


@dataclass(frozen=True)
class Outcome:
    """How one question fared: rank of the first hit (None: not in the first 10), what came
    first, and whether the short answer holds a gold answer (None when not checked)."""

    question: Question
    rank: int | None
    first: tuple[str, str] | None  # (passage id, text) ranked first
    answer_hit: bool | None = None


@dataclass(frozen=True)
class Scores:
    retriever: str
    questions: int
    passages: int
    recall_at_1: float
    recall_at_5: float
    recall_at_10: float
    mrr_at_10: float
    answer_contains: float | None  # share of questions whose answer sentence holds a gold answer
    outcomes: list[Outcome]

    @property
    def misses(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.rank != 1]

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "retriever": self.retriever,
            "questions": self.questions,
            "passages": self.passages,
            "recall@1": round(self.recall_at_1, 4),
            "recall@5": round(self.recall_at_5, 4),
            "recall@10": round(self.recall_at_10, 4),
            "mrr@10": round(self.mrr_at_10, 4),
        }
        if self.answer_contains is not None:
            out["answer_contains"] = round(self.answer_contains, 4)
        return out


def score_outcomes(retriever: str, passages: int, outcomes: Sequence[Outcome]) -> Scores:
    n = len(outcomes) or 1

    def recall(k: int) -> float:
        return sum(1 for o in outcomes if o.rank is not None and o.rank <= k) / n

    checked = [o.answer_hit for o in outcomes if o.answer_hit is not None]
    return Scores(
        retriever=retriever,
        questions=len(outcomes),
        passages=passages,
        recall_at_1=recall(1),
        recall_at_5=recall(5),
        recall_at_10=recall(10),
        mrr_at_10=sum(1 / o.rank for o in outcomes if o.rank is not None and o.rank <= 10) / n,
        answer_contains=(sum(checked) / len(checked)) if checked else None,
        outcomes=list(outcomes),
    )


def answer_holds_gold(question: Question, answer_text: str | None) -> bool:
    if answer_text is None:
        return False
    haystack = normalize(answer_text)
    return any(normalize(a) in haystack for a in question.answers)


def load_squad_questions(path: Path, titles: Sequence[str] | None = None) -> list[Question]:
    """Questions of a SQuAD JSON file (answers: the answer texts, doc: the article title)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CorpusError(f"{path}: not a readable SQuAD file: {exc}") from exc
    wanted = set(titles) if titles else None
    questions: list[Question] = []
    for article in data.get("data", []):
        if wanted is not None and article["title"] not in wanted:
            continue
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                questions.append(
                    Question(
                        id=str(qa["id"]),
                        question=str(qa["question"]),
                        answers=tuple(dict.fromkeys(a["text"] for a in qa["answers"])),
                        doc=str(article["title"]),
                    )
                )
    return questions


def run_eval(
    questions: Sequence[Question],
    embedder: Embedder,
    index: LoadedIndex,
    retrievers: Sequence[str] = RETRIEVERS,
    *,
    progress: bool = False,
) -> dict[str, Scores]:
    """Score each retriever on the questions over the same index, in the same run.

    The questions are embedded once, in batches, and every retriever reuses the vectors. Each
    outcome also says whether that retriever's short answer holds a gold answer.
    """
    vectors = embedder.embed([q.question for q in questions], progress=progress)
    results: dict[str, Scores] = {}
    with tqdm(
        total=len(questions) * len(retrievers),
        desc="Scoring",
        unit="question",
        disable=not progress,
        leave=False,
    ) as bar:
        names = ArticleNames.from_passages(index.passages)
        for name in retrievers:
            retriever = make_retriever(name, index, names)
            answerer = Answerer(
                retriever, index, embedder, names, max_question_chars=10**6, max_top_k=10**6
            )
            outcomes: list[Outcome] = []
            for row, question in enumerate(questions):
                hits = retriever.search_vector(question.question, vectors[row : row + 1], 10)
                result = answerer.compose(question.question, hits, vectors[row : row + 1])
                ranked = [(h.passage.article_id, h.passage.text) for h in hits]
                first = (hits[0].passage.id, hits[0].passage.text) if hits else None
                answer_text = result.answer.text if result.answer else None
                outcomes.append(
                    Outcome(
                        question,
                        first_hit_rank(question, ranked),
                        first,
                        answer_holds_gold(question, answer_text),
                    )
                )
                bar.update(1)
            results[name] = score_outcomes(name, len(index.passages), outcomes)
    return results


def load_any_questions(path: Path) -> list[Question]:
    """A .jsonl question set, or the questions of a SQuAD .json file."""
    if path.suffix.lower() == ".json":
        return load_squad_questions(path)
    return load_questions(path)


BLEND_COUNTRIES = ("UK", "US", "Mexico", "Spain", "Greece")


def load_blend_questions(directory: Path, countries: Sequence[str] = BLEND_COUNTRIES) -> list[str]:
    """The English BLEnD questions (`en_question`) of the given countries, in file order."""
    questions: list[str] = []
    for country in countries:
        path = directory / "annotations" / f"{country}_data.json"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise CorpusError(f"{path}: not a readable BLEnD file: {exc}") from exc
        questions.extend(str(item["en_question"]) for item in data.values())
    return questions


@dataclass(frozen=True)
class NoAnswerReport:
    questions: int
    no_answer: int
    confidences: list[float]

    @property
    def rate(self) -> float:
        return self.no_answer / self.questions if self.questions else 0.0


def no_answer_rate(
    questions: Sequence[str], embedder: Embedder, index: LoadedIndex, *, progress: bool = False
) -> NoAnswerReport:
    """How many of these questions (which the index cannot answer) come back without an answer."""
    vectors = embedder.embed(list(questions), progress=progress)
    names = ArticleNames.from_passages(index.passages)
    retriever = make_retriever("default", index, names)
    answerer = Answerer(
        retriever, index, embedder, names, max_question_chars=10**6, max_top_k=10**6
    )
    none = 0
    confidences: list[float] = []
    for row, question in enumerate(questions):
        query = vectors[row : row + 1]
        result = answerer.compose(question, retriever.search_vector(question, query, 5), query)
        none += result.answer is None
        confidences.append(result.confidence)
    return NoAnswerReport(len(questions), none, confidences)
