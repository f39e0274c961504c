"""Score retrieval and what a student sees against question sets with gold answers.

Retrieval (the rule of shared/eval/README.md): a retrieved passage is a hit when its article id
equals the question's `doc` and its text contains one of the `answers`, compared
case-insensitively after collapsing runs of white space.

The shown answer: `answer_right` when an answer is shown, it holds a gold answer and it cites
the gold article; `answer_wrong` when an answer is shown that is not right (every answer to an
unanswerable question, `"doc": null`, is wrong); `honest_no_answer` when an unanswerable
question gets `answer: null`. Recall counts only answerable questions.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from cultureqa.embedding.base import Embedder, Vectors
from cultureqa.errors import CorpusError
from cultureqa.index.store import LoadedIndex
from cultureqa.search import RETRIEVERS
from cultureqa.search.answer import Answerer, AnswerWeights, AskResult
from cultureqa.search.followup import FollowUp, Turn
from cultureqa.search.places import ArticleNames
from cultureqa.search.retrieval import make_retriever

_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    answers: tuple[str, ...]
    doc: str | None  # None: nothing in the corpus answers it
    section: str = ""
    style: str = ""  # how it is asked: paraphrase, typo, followup, uncovered_place, ...
    history: tuple[Turn, ...] = ()  # earlier turns, oldest first

    @property
    def answerable(self) -> bool:
        return self.doc is not None


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
                        doc=None if data["doc"] is None else str(data["doc"]),
                        section=str(data.get("section") or ""),
                        style=str(data.get("style") or ""),
                        history=tuple(
                            Turn(str(t["question"]), t.get("article_id"))
                            for t in data.get("history") or ()
                        ),
                    )
                )
            except (ValueError, KeyError, TypeError) as exc:
                raise CorpusError(f"{path}:{number}: not a question record: {exc}") from exc
    return questions


@dataclass(frozen=True)
class Outcome:
    """How one question fared: rank of the first hit (None: not in the first 10), what came
    first, whether the short answer holds a gold answer (None when not checked), and the
    answer shown: its text and the article it cites (None: no answer)."""

    question: Question
    rank: int | None
    first: tuple[str, str] | None  # (passage id, text) ranked first
    answer_hit: bool | None = None
    answer_text: str | None = None
    answer_article: str | None = None

    @property
    def answered(self) -> bool:
        return self.answer_text is not None

    @property
    def right(self) -> bool:
        return (
            self.question.answerable
            and self.answer_article == self.question.doc
            and answer_holds_gold(self.question, self.answer_text)
        )

    @property
    def wrong(self) -> bool:
        return self.answered and not self.right


@dataclass(frozen=True)
class AnswerScores:
    """What students see, over a group of questions."""

    questions: int
    answerable: int
    answer_right: float  # share of answerable questions answered rightly
    answer_wrong: float  # share of all questions given a wrong answer
    honest_no_answer: float | None  # share of unanswerable questions left without an answer
    answered: float  # share of all questions given an answer

    @classmethod
    def of(cls, outcomes: Sequence[Outcome]) -> AnswerScores:
        answerable = [o for o in outcomes if o.question.answerable]
        unanswerable = [o for o in outcomes if not o.question.answerable]
        n = len(outcomes) or 1
        return cls(
            questions=len(outcomes),
            answerable=len(answerable),
            answer_right=sum(o.right for o in answerable) / (len(answerable) or 1),
            answer_wrong=sum(o.wrong for o in outcomes) / n,
            honest_no_answer=(
                sum(not o.answered for o in unanswerable) / len(unanswerable)
                if unanswerable
                else None
            ),
            answered=sum(o.answered for o in outcomes) / n,
        )

    def as_dict(self) -> dict[str, object]:
        return {
            "questions": self.questions,
            "answerable": self.answerable,
            "answer_right": round(self.answer_right, 4),
            "answer_wrong": round(self.answer_wrong, 4),
            "honest_no_answer": (
                None if self.honest_no_answer is None else round(self.honest_no_answer, 4)
            ),
            "answered": round(self.answered, 4),
        }


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
    answers: AnswerScores
    by_style: dict[str, AnswerScores]

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
        out.update(self.answers.as_dict())
        if len(self.by_style) > 1 or "" not in self.by_style:
            out["by_style"] = {style: s.as_dict() for style, s in self.by_style.items()}
        return out


def score_outcomes(retriever: str, passages: int, outcomes: Sequence[Outcome]) -> Scores:
    answerable = [o for o in outcomes if o.question.answerable]
    n = len(answerable) or 1

    def recall(k: int) -> float:
        return sum(1 for o in answerable if o.rank is not None and o.rank <= k) / n

    checked = [o.answer_hit for o in answerable if o.answer_hit is not None]
    styles: dict[str, list[Outcome]] = {}
    for outcome in outcomes:
        styles.setdefault(outcome.question.style, []).append(outcome)
    return Scores(
        retriever=retriever,
        questions=len(outcomes),
        passages=passages,
        recall_at_1=recall(1),
        recall_at_5=recall(5),
        recall_at_10=recall(10),
        mrr_at_10=sum(1 / o.rank for o in answerable if o.rank is not None and o.rank <= 10) / n,
        answer_contains=(sum(checked) / len(checked)) if checked else None,
        outcomes=list(outcomes),
        answers=AnswerScores.of(outcomes),
        by_style={style: AnswerScores.of(group) for style, group in sorted(styles.items())},
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
    weights: AnswerWeights | None = None,
    progress: bool = False,
) -> dict[str, Scores]:
    """Score each retriever on the questions over the same index, in the same run.

    Each question is planned as /ask plans it (a follow-up carries its conversation), the
    queries are embedded once, in batches, and every retriever reuses the vectors. Each outcome
    also records that retriever's short answer, as a student would see it.
    """
    names = ArticleNames.from_passages(index.passages)
    answerers = {name: _answerer(name, index, embedder, names, weights) for name in retrievers}
    queries = plan_queries(questions, answerers[retrievers[0]], embedder, progress=progress)
    results: dict[str, Scores] = {}
    with tqdm(
        total=len(questions) * len(retrievers),
        desc="Scoring",
        unit="question",
        disable=not progress,
        leave=False,
    ) as bar:
        for name, answerer in answerers.items():
            outcomes: list[Outcome] = []
            for (plan, query), question in zip(queries, questions, strict=True):
                result = answerer.answer(question.question, plan, query, 10)
                outcomes.append(outcome_of(question, result))
                bar.update(1)
            results[name] = score_outcomes(name, len(index.passages), outcomes)
    return results


def _answerer(
    retriever: str,
    index: LoadedIndex,
    embedder: Embedder,
    names: ArticleNames,
    weights: AnswerWeights | None,
) -> Answerer:
    """An answerer as /ask has one, without the request limits (sets may hold long texts)."""
    return Answerer(
        make_retriever(retriever, index, names),
        index,
        embedder,
        names,
        weights=weights,
        max_question_chars=10**6,
        max_top_k=10**6,
    )


def plan_queries(
    questions: Sequence[Question], answerer: Answerer, embedder: Embedder, *, progress: bool
) -> list[tuple[FollowUp, Vectors]]:
    """Each question's plan and embeddings (its query's and, for a follow-up with context, its
    context's), as /ask makes them, embedded in batches."""
    plans = [answerer.plan(q.question, q.history) for q in questions]
    texts = [plan.query for plan in plans] + [plan.context for plan in plans if plan.context]
    embedded = embedder.embed(texts, progress=progress)
    vectors, contexts = embedded[: len(plans)], iter(embedded[len(plans) :])
    return [
        (plan, np.stack([vectors[i], next(contexts)]) if plan.context else vectors[i : i + 1])
        for i, plan in enumerate(plans)
    ]


def outcome_of(question: Question, result: AskResult) -> Outcome:
    ranked = [(p.citation.article_id, p.text) for p in result.passages]
    first = (result.passages[0].id, result.passages[0].text) if result.passages else None
    answer = result.answer
    return Outcome(
        question,
        first_hit_rank(question, ranked),
        first,
        answer_holds_gold(question, answer.text if answer else None),
        answer.text if answer else None,
        answer.citation.article_id if answer else None,
    )


def load_any_questions(path: Path) -> list[Question]:
    """A .jsonl question set, or the questions of a SQuAD .json file."""
    if path.suffix.lower() == ".json":
        return load_squad_questions(path)
    return load_questions(path)


BLEND_COUNTRIES = ("UK", "US", "Mexico", "Spain", "Greece")


def load_blend(directory: Path, countries: Sequence[str] = BLEND_COUNTRIES) -> list[Question]:
    """The English BLEnD questions of the given countries, in file order, as unanswerable
    questions (no article is gold) whose `answers` are every annotated English answer; `style`
    is the country."""
    questions: list[Question] = []
    for country in countries:
        path = directory / "annotations" / f"{country}_data.json"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise CorpusError(f"{path}: not a readable BLEnD file: {exc}") from exc
        for key, item in data.items():
            answers = {
                str(answer)
                for note in item.get("annotations", [])
                for answer in note.get("en_answers", [])
                if str(answer).strip()
            }
            questions.append(
                Question(
                    str(key), str(item["en_question"]), tuple(sorted(answers)), None, "", country
                )
            )
    return questions


def load_blend_questions(directory: Path, countries: Sequence[str] = BLEND_COUNTRIES) -> list[str]:
    """The English BLEnD questions (`en_question`) of the given countries, in file order."""
    return [q.question for q in load_blend(directory, countries)]


@dataclass(frozen=True)
class NoAnswerReport:
    """How questions with no gold article fared: answered or not, and how many of the answers
    shown hold one of their annotated answers (BLEnD's, where the collection might cover the
    question after all)."""

    questions: int
    no_answer: int
    confidences: list[float]
    answers_holding_gold: int = 0

    @property
    def rate(self) -> float:
        return self.no_answer / self.questions if self.questions else 0.0

    @property
    def answered(self) -> int:
        return self.questions - self.no_answer

    @property
    def precision(self) -> float | None:
        """Of the answers shown, the share that hold an annotated answer."""
        return self.answers_holding_gold / self.answered if self.answered else None


def no_answer_rate(
    questions: Sequence[str | Question],
    embedder: Embedder,
    index: LoadedIndex,
    *,
    weights: AnswerWeights | None = None,
    progress: bool = False,
) -> NoAnswerReport:
    """Ask each question as /ask would (the default ranking): how many come back without an
    answer, and how many answers shown hold an annotated answer."""
    items = [
        q if isinstance(q, Question) else Question(f"q{i}", q, (), None)
        for i, q in enumerate(questions)
    ]
    names = ArticleNames.from_passages(index.passages)
    answerer = _answerer("default", index, embedder, names, weights)
    none = holding = 0
    confidences: list[float] = []
    for (plan, query), item in zip(
        plan_queries(items, answerer, embedder, progress=progress), items, strict=True
    ):
        result = answerer.answer(item.question, plan, query, 5)
        none += result.answer is None
        holding += result.answer is not None and answer_holds_gold(item, result.answer.text)
        confidences.append(result.confidence)
    return NoAnswerReport(len(items), none, confidences, holding)
