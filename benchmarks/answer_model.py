"""Fit the answer model (src/cultureqa/search/answer_model.py) on the dev splits, and show what
its threshold trades.

    python -m benchmarks.answer_model fit --student DIR --factbook DIR [--write]
        cross-validated figures on the dev splits for a few regularisation strengths, then the
        model fit on all of them with the chosen one, its threshold table, and (--write) the
        coefficients written to answer_model.json

The dev splits only: the student-style dev set (student index), the everyday-Factbook dev set
and the even-numbered half of BLEnD (UK, US, Mexico, Spain, Greece), both asked of the Factbook
index. The validation splits and BLEnD's odd half are left for `benchmarks.answers report`.
Each DIR is an index made by `cultureqa ingest` (docs/retrieval.md). Needs scikit-learn, which
sentence-transformers installs.
"""

from __future__ import annotations

import argparse
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import minimize
from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]

from cultureqa.embedding.base import Embedder
from cultureqa.embedding.factory import load_embedder
from cultureqa.evaluation.questions import (
    Question,
    _answerer,
    answer_holds_gold,
    load_any_questions,
    load_blend,
    plan_queries,
)
from cultureqa.index.collections import open_index
from cultureqa.search.answer import Answerer, AnswerWeights
from cultureqa.search.answer_model import (
    ANSWER_FEATURES,
    FIELDS_SHORT_SHARE,
    MODEL_FILE,
    AnswerModel,
    AnswerModels,
)
from cultureqa.search.evidence import Windows, decide
from cultureqa.search.highlight import answer_span, windows_of
from cultureqa.search.places import ArticleNames
from cultureqa.search.retrieval import Hit
from cultureqa.settings import Settings

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "benchmarks" / "data"
SHARED = REPO.parent / "shared"
PASSAGES = AnswerWeights().passages  # the answer is chosen among these passages' windows
# A wrong answer shown costs this many missing ones when the threshold is chosen.
WRONG_COST = 3.0
# How much one question of each set weighs in the fit (BLEnD has 1,250 dev questions, the
# others 82 and 197: each set weighs about the same).
SET_WEIGHT = {
    "student": 1.0,
    "factbook-everyday": 2.0,
    "blend": 0.15,
    "blend-seed": 0.15,
    "seed-dev": 3.0,
    "factbook-dev": 2.0,
    "squad-culture-dev": 0.015,
}
# (name, questions, index): None for BLEnD's dev half.
DEV_SETS = [
    ("student", DATA / "student" / "dev.jsonl", "student"),
    ("factbook-everyday", DATA / "factbook-everyday" / "dev.jsonl", "factbook"),
    ("blend", None, "factbook"),
    ("blend-seed", None, "seed"),
    ("seed-dev", SHARED / "eval" / "seed-dev.jsonl", "seed"),
    ("factbook-dev", SHARED / "eval" / "factbook-dev.jsonl", "factbook"),
    ("squad-culture-dev", SHARED / "eval" / "squad-culture-dev.jsonl", "squad"),
]


@dataclass
class Asked:
    """One dev question as the answerer sees it: its windows, which of them hold a right
    answer, and what else decides the answer."""

    set: str
    question: Question
    windows: list[Windows | None]
    right: list[NDArray[np.bool_] | None]  # per window of each passage
    broad: bool
    fields: bool  # its first passage is from a profile of fields (AnswerModels.for_article)
    refused_place: bool  # place_not_covered: never answered, whatever the model says
    hits: list[Hit]


@dataclass(frozen=True, eq=False)
class Chosen:
    """The answer the model would show for one question: its evidence (None: nothing to
    choose, or refused for its place), whether it is right, and the model's confidence."""

    asked: Asked
    evidence: NDArray[np.float64] | None
    right: bool
    confidence: float
    text: str = ""  # the answer it would show


def collect(
    name: str, questions: Sequence[Question], answerer: Answerer, embedder: Embedder
) -> list[Asked]:
    asked = []
    for (plan, embedded), q in zip(
        plan_queries(questions, answerer, embedder, progress=False), questions, strict=True
    ):
        hits, pick = answerer.retrieve(plan, embedded, 10)
        windows = answerer.windows(plan.query, hits, pick)
        right: list[NDArray[np.bool_] | None] = []
        for w in windows:
            if w is None:
                right.append(None)
                continue
            passage = hits[w.hit].passage
            texts = [passage.text[a:b] for a, b in windows_of(passage.text)]
            ok = q.doc is None or passage.article_id == q.doc
            right.append(np.array([ok and answer_holds_gold(q, t) for t in texts], dtype=bool))
        refused = answerer.uncovered_place(q.question, hits) is not None
        share = answerer.short_share(hits[0].passage.article_id) if hits else 0.0
        fields = share > FIELDS_SHORT_SHARE
        broad = answerer.broad(plan.query)
        asked.append(Asked(name, q, windows, right, broad, fields, refused, hits))
    return asked


def load_sets(indexes: dict[str, Path], embedder: Embedder) -> list[Asked]:
    """Every dev set whose index is given (keys: student, factbook, seed, squad)."""
    asked: list[Asked] = []
    for name, path, which in DEV_SETS:
        if which not in indexes:
            continue
        index = open_index(Settings(index_dir=indexes[which]), embedder)
        names = ArticleNames.from_passages(index.passages)
        answerer = _answerer("default", index, embedder, names, None)
        if path is None:
            blend = load_blend(SHARED / "data" / "blend")
            questions = blend[0::2]  # the dev half; benchmarks.answers reports the other
        else:
            questions = load_any_questions(path)
        asked += collect(name, questions, answerer, embedder)
        print(f"{name}: {len(questions)} questions")
    return asked


def fit_window(asked: Sequence[Asked], c: float) -> NDArray[np.float64]:
    """A listwise ranker: per question, the softmax over its windows (those of the first
    passages) should put its weight on the windows that hold the answer (log-likelihood, L2
    penalty 1/c, on standardized features); only questions with such a window there count."""
    groups = []
    for a in asked:
        first = [
            (w, r)
            for w, r in zip(a.windows[:PASSAGES], a.right[:PASSAGES], strict=True)
            if w is not None and r is not None
        ]
        if a.question.doc is None or not any(r.any() for _, r in first):
            continue
        x = np.vstack([w.features for w, _ in first])
        y = np.concatenate([r for _, r in first])
        groups.append((x, y, SET_WEIGHT[a.set]))
    everything = np.vstack([x for x, _, _ in groups])
    mean, scale = everything.mean(axis=0), everything.std(axis=0)
    scale[scale == 0] = 1.0
    standard = [((x - mean) / scale, y, weight) for x, y, weight in groups]
    total = sum(weight for _, _, weight in standard)

    def loss(coef: NDArray[np.float64]) -> tuple[float, NDArray[np.float64]]:
        value, gradient = 0.5 * float(coef @ coef) / c, coef / c
        for x, y, weight in standard:
            scores = x @ coef
            top = scores.max()
            p = np.exp(scores - top)
            p /= p.sum()
            q = p * y
            held = q.sum()
            value -= weight / total * len(standard) * float(np.log(held))
            gradient -= weight / total * len(standard) * (x.T @ (q / held - p))
        return value, gradient

    result = minimize(loss, np.zeros(everything.shape[1]), jac=True, method="L-BFGS-B")
    return np.asarray(result.x / scale, dtype=np.float64)


def outcomes(asked: Sequence[Asked], models: AnswerModels) -> list[Chosen]:
    """What `models` would show for each question."""
    result = []
    for a in asked:
        model = models.fields if a.fields else models.prose
        picks = decide(a.windows, model, PASSAGES, a.broad, a.hits)
        first = [p for p in picks[:PASSAGES] if p is not None]
        if not first or a.refused_place:
            result.append(Chosen(a, None, False, 0.0))
            continue
        chosen = max(first, key=lambda p: p.evidence[0])
        spans = a.windows[chosen.hit].spans  # type: ignore[union-attr]
        index = next(i for i, s in enumerate(spans) if s.start == chosen.span.start)
        right = a.right[chosen.hit]
        ok = right is not None and bool(right[index])
        passage = a.hits[chosen.hit].passage
        text = passage.text[slice(*answer_span(passage.text, chosen.span))]
        result.append(Chosen(a, chosen.evidence, ok, chosen.confidence, text))
    return result


def fit_answer(chosen: Sequence[Chosen], c: float) -> NDArray[np.float64]:
    """A logistic model of "the chosen answer is right" over its evidence; the evidence's last
    column (the bias) is the intercept."""
    rows = [ch for ch in chosen if ch.evidence is not None]
    x = np.vstack([ch.evidence[:-1] for ch in rows if ch.evidence is not None])
    y = np.array([ch.right for ch in rows])
    weights = np.array([SET_WEIGHT[ch.asked.set] for ch in rows])
    coef, intercept = standardized_fit(x, y, weights, c)
    return np.append(coef, intercept)


def standardized_fit(
    x: NDArray[np.float64], y: NDArray[np.bool_], weights: NDArray[np.float64], c: float
) -> tuple[NDArray[np.float64], float]:
    """L2-regularised logistic regression on standardized features (so `c` treats every feature
    alike), its coefficients and intercept given back for the raw features."""
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    model = LogisticRegression(C=c, max_iter=5000).fit((x - mean) / scale, y, sample_weight=weights)
    coef = model.coef_[0] / scale
    return coef.astype(np.float64), float(model.intercept_[0] - (coef * mean).sum())


def fit(asked: Sequence[Asked], c: float, threshold: float = 0.5) -> AnswerModel:
    """One kind's model: the window ranker, then the answer model over what it picks."""
    window = fit_window(asked, c)
    provisional = AnswerModel(window, np.zeros(len(ANSWER_FEATURES)), threshold)
    kind = AnswerModels(provisional, provisional)
    answer = fit_answer(outcomes(asked, kind), c)
    return AnswerModel(window, answer, threshold)


def fit_models(asked: Sequence[Asked], c: float) -> AnswerModels:
    """A model for questions answered from prose, one for profiles of fields."""
    prose = [a for a in asked if not a.fields]
    fields = [a for a in asked if a.fields]
    # Sets without one kind (no Factbook index given: an experiment on the student-style and
    # seed sets alone) use the other kind's model for both.
    fitted = fit(prose or fields, c)
    return AnswerModels(fitted, fit(fields, c) if prose and fields else fitted)


def shows(chosen: Chosen, threshold: float) -> bool:
    return chosen.evidence is not None and chosen.confidence >= threshold


def scores(
    chosen: Sequence[Chosen], threshold: float
) -> dict[str, tuple[float, float, float | None]]:
    """Per set: answer right (share of answerable), answer wrong (share of all), honest
    no-answer (share of unanswerable); for BLEnD: the precision of the answers shown and the
    answered rate."""
    result: dict[str, tuple[float, float, float | None]] = {}
    for name in SET_WEIGHT:
        items = [ch for ch in chosen if ch.asked.set == name]
        if not items:
            continue
        shown = [ch for ch in items if shows(ch, threshold)]
        if name.startswith("blend"):
            precision = sum(ch.right for ch in shown) / len(shown) if shown else 1.0
            result[name] = (precision, len(shown) / len(items), None)
            continue
        answerable = sum(ch.asked.question.doc is not None for ch in items)
        unanswerable = len(items) - answerable
        right = sum(ch.right and ch.asked.question.doc is not None for ch in shown)
        refused = [ch for ch in items if ch.asked.question.doc is None and not shows(ch, threshold)]
        honest = len(refused) / unanswerable if unanswerable else None
        result[name] = (right / answerable, (len(shown) - right) / len(items), honest)
    return result


def objective(
    per_set: dict[str, tuple[float, float, float | None]], sizes: dict[str, int]
) -> float:
    """Answer right - WRONG_COST x answer wrong, each set weighing as many questions as it
    counts in the fit (its size x SET_WEIGHT): seven seed-dev questions must not outvote 197
    student-style ones."""
    total = weights = 0.0
    for name, (first, second, _) in per_set.items():
        weight = sizes[name] * SET_WEIGHT[name]
        weights += weight
        if name.startswith("blend"):  # answers shown that are wrong, as a share of the questions
            total -= weight * WRONG_COST * second * (1 - first)
        else:
            total += weight * (first - WRONG_COST * second)
    return total / weights if weights else 0.0


def cross_validate(asked: Sequence[Asked], c: float, folds: int = 5) -> list[Chosen]:
    """Each question scored by a model fit on the other folds (folds by article, so a held-out
    article's questions are unseen)."""
    key = [zlib.crc32((a.question.doc or a.question.id).encode()) % folds for a in asked]
    chosen = []
    for fold in range(folds):
        train = [a for a, k in zip(asked, key, strict=True) if k != fold]
        test = [a for a, k in zip(asked, key, strict=True) if k == fold]
        chosen += outcomes(test, fit_models(train, c))
    return chosen


def show_thresholds(chosen: Sequence[Chosen]) -> float:
    """Print what each threshold trades; the one with the best objective."""
    best, best_threshold = -1e9, 0.5
    for threshold in np.arange(0.20, 0.96, 0.05):
        per_set = scores(chosen, float(threshold))
        sizes = {name: sum(ch.asked.set == name for ch in chosen) for name in per_set}
        value = objective(per_set, sizes)
        line = " | ".join(
            f"{name} {a:.3f}/{b:.3f}/{'-' if h is None else f'{h:.3f}'}"
            for name, (a, b, h) in per_set.items()
        )
        print(f"  t={threshold:.2f} objective {value:+.3f}  {line}")
        if value > best:
            best, best_threshold = value, float(threshold)
    return best_threshold


def cmd_fit(args: argparse.Namespace) -> None:
    embedder = load_embedder(Settings())
    given = {"student": args.student, "factbook": args.factbook, "seed": args.seed}
    asked = load_sets({k: v for k, v in {**given, "squad": args.squad}.items() if v}, embedder)
    print("right/wrong/honest (student, everyday Factbook); precision/answered (BLEnD dev half)")
    kinds = {"prose": [a for a in asked if not a.fields], "fields": [a for a in asked if a.fields]}
    # A kind without questions (no Factbook index given) has the other kind's model
    # (fit_models) and threshold.
    present = {kind: members for kind, members in kinds.items() if members}
    for c in args.c if args.choose is None else []:
        chosen = cross_validate(asked, c)
        for kind, members in present.items():
            print(f"cross-validated on dev, C={c}, {kind} articles ({len(members)} questions):")
            show_thresholds([ch for ch in chosen if ch.asked.fields == (kind == "fields")])
    c = args.c[0] if args.choose is None else args.choose
    # The thresholds come from the cross-validated confidences: a model's confidence on the
    # questions it was fit on is higher than it will be on new ones.
    held_out = cross_validate(asked, c)
    thresholds = {}
    for kind in present:
        print(f"threshold for {kind} articles, cross-validated, C={c}:")
        thresholds[kind] = show_thresholds(
            [ch for ch in held_out if ch.asked.fields == (kind == "fields")]
        )
    for kind in kinds:
        thresholds.setdefault(kind, next(iter(thresholds.values())))
    models = fit_models(asked, c)
    how = (
        f"python -m benchmarks.answer_model fit --choose {c}: "
        + ", ".join(sorted({a.set for a in asked}))
        + f" (BLEnD: its even half); {embedder.name}"
    )
    models = AnswerModels(
        replace(models.prose, threshold=round(thresholds["prose"], 2), trained_on=how),
        replace(models.fields, threshold=round(thresholds["fields"], 2), trained_on=how),
        embedder.name,
    )
    print(models.to_json())
    if args.write:
        MODEL_FILE.write_text(models.to_json() + "\n", encoding="utf-8")
        print(f"wrote {MODEL_FILE}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    fit_parser = commands.add_parser("fit", help="fit on the dev splits")
    fit_parser.add_argument("--student", type=Path, required=True)
    fit_parser.add_argument("--factbook", type=Path, default=None)
    fit_parser.add_argument("--seed", type=Path, default=None)
    fit_parser.add_argument("--squad", type=Path, default=None)
    fit_parser.add_argument("--c", type=float, nargs="+", default=[0.1, 1.0, 10.0])
    fit_parser.add_argument("--choose", type=float, default=None, help="C for the final fit")
    fit_parser.add_argument("--write", action="store_true")
    args = parser.parse_args(argv)
    {"fit": cmd_fit}[args.command](args)


if __name__ == "__main__":
    main()
