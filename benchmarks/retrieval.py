"""Full retrieval evaluation (the acceptance runs of docs/retrieval.md) and fusion-weight tuning.

    python benchmarks/retrieval.py eval --factbook IDX --squad IDX --seed IDX [--beir IDX] [--out F]
    python benchmarks/retrieval.py tune  --index IDX --questions FILE
    python benchmarks/retrieval.py blend --seed IDX

Indexes are built beforehand with `cultureqa ingest` (commands in docs/retrieval.md). Figures
print as tables; `--out` also writes them as JSON.
"""

from __future__ import annotations

import argparse
import itertools
import json
import time
from pathlib import Path

import numpy as np

from cultureqa.embedding.base import Embedder
from cultureqa.embedding.factory import load_embedder
from cultureqa.evaluation.beir import run_beir
from cultureqa.evaluation.questions import (
    first_hit_rank,
    load_any_questions,
    load_blend_questions,
    no_answer_rate,
    run_eval,
)
from cultureqa.index.store import LoadedIndex, load_index
from cultureqa.search import RETRIEVERS
from cultureqa.search.fusion import FusionWeights, fuse
from cultureqa.search.places import ArticleNames
from cultureqa.search.retrieval import HybridRetriever
from cultureqa.settings import Settings

SHARED = Path(__file__).resolve().parents[2] / "shared"
SETS = {
    "factbook": SHARED / "eval" / "factbook-dev.jsonl",
    "squad": SHARED / "eval" / "squad-culture-dev.jsonl",
    "seed": SHARED / "eval" / "seed-dev.jsonl",
}


def _load(index_dir: Path, embedder: Embedder) -> LoadedIndex:
    """The default collection of an index directory, as `cultureqa ingest --index-dir` builds it."""
    return load_index(index_dir / "default", model=embedder.name, dimension=embedder.dimension)


def _embedder() -> Embedder:
    """The model and backend the service would use (CULTUREQA_MODEL, CULTUREQA_BACKEND)."""
    return load_embedder(Settings())


def cmd_eval(args: argparse.Namespace) -> None:
    embedder = _embedder()
    report: dict[str, object] = {}
    for name in ("seed", "factbook", "squad"):
        index_dir = getattr(args, name)
        if index_dir is None:
            continue
        started = time.perf_counter()
        index = _load(index_dir, embedder)
        questions = load_any_questions(SETS[name])
        results = run_eval(questions, embedder, index, RETRIEVERS, progress=True)
        report[name] = {r: s.as_dict() for r, s in results.items()}
        print(
            f"\n{name}: {len(questions)} questions, {len(index.passages)} passages "
            f"({time.perf_counter() - started:.0f} s)"
        )
        print(f"{'retriever':<10} {'R@1':>6} {'R@5':>6} {'R@10':>6} {'MRR@10':>7} {'answer':>7}")
        for r, s in results.items():
            print(
                f"{r:<10} {s.recall_at_1:>6.3f} {s.recall_at_5:>6.3f} {s.recall_at_10:>6.3f} "
                f"{s.mrr_at_10:>7.3f} {s.answer_contains or 0:>7.3f}"
            )
        if name == "seed":
            blend = no_answer_rate(load_blend_questions(SHARED / "data" / "blend"), embedder, index)
            report["blend_no_answer"] = {
                "questions": blend.questions,
                "no_answer": blend.no_answer,
                "rate": round(blend.rate, 4),
            }
            print(
                f"BLEnD (UK, US, Mexico, Spain, Greece) on the seed corpus: "
                f"{blend.no_answer}/{blend.questions} no-answer ({blend.rate:.3f})"
            )
    if args.beir is not None:
        beir = run_beir(
            SHARED / "data" / "beir-nfcorpus",
            args.beir / "default",
            embedder,
            RETRIEVERS,
            progress=True,
        )
        report["nfcorpus"] = beir.as_dict()
        print("\nnfcorpus nDCG@10: " + ", ".join(f"{k} {v:.4f}" for k, v in beir.ndcg.items()))
    if args.out:
        args.out.write_text(json.dumps(report, indent=2) + "\n")
        print(f"\nwrote {args.out}")


def cmd_tune(args: argparse.Namespace) -> None:
    """Grid over the fusion weights on one dev set, from candidates gathered once."""
    embedder = _embedder()
    index = _load(args.index, embedder)
    questions = load_any_questions(args.questions)
    vectors = embedder.embed([q.question for q in questions], progress=True)
    hybrid = HybridRetriever(index, ArticleNames.from_passages(index.passages))
    pools = [hybrid.candidates(q.question, vectors[i : i + 1]) for i, q in enumerate(questions)]
    hits = []
    for q, pool in zip(questions, pools, strict=True):
        hits.append(
            np.array(
                [
                    first_hit_rank(
                        q, [(index.passages[int(r)].article_id, index.passages[int(r)].text)]
                    )
                    == 1
                    for r in pool.rows
                ]
            )
        )
    rows = []
    for lexical, name in itertools.product(args.lexical, args.name):
        weights = FusionWeights(lexical=lexical, name=name)
        r1 = r5 = mrr = 0.0
        for pool, hit in zip(pools, hits, strict=True):
            fused = fuse(
                pool.similarity, pool.sentence, pool.bm25, pool.named, weights, pool.query_idf
            )
            order = np.argsort(-fused, kind="stable")[:10]
            ranked = np.nonzero(hit[order])[0]
            if len(ranked):
                r1 += ranked[0] == 0
                r5 += ranked[0] < 5
                mrr += 1 / (ranked[0] + 1)
        n = len(pools)
        rows.append((lexical, name, r1 / n, r5 / n, mrr / n))
    print(f"{args.questions.name}: {len(questions)} questions")
    print(f"{'lexical':>8} {'name':>6} {'R@1':>6} {'R@5':>6} {'MRR@10':>7}")
    for lexical, name, r1, r5, mrr in sorted(rows, key=lambda r: -r[4])[: args.show]:
        print(f"{lexical:>8.2f} {name:>6.2f} {r1:>6.3f} {r5:>6.3f} {mrr:>7.3f}")


def cmd_blend(args: argparse.Namespace) -> None:
    """The no-answer calibration: confidences of BLEnD (unanswerable) and seed-dev questions."""
    embedder = _embedder()
    index = _load(args.seed, embedder)
    report = no_answer_rate(
        load_blend_questions(SHARED / "data" / "blend"), embedder, index, progress=True
    )
    seed = [q.question for q in load_any_questions(SETS["seed"])]
    answered = no_answer_rate(seed, embedder, index)
    c = np.array(report.confidences)
    print(
        f"BLEnD no-answer {report.no_answer}/{report.questions} ({report.rate:.3f}); "
        f"confidence p50 {np.median(c):.3f} p95 {np.percentile(c, 95):.3f} "
        f"p99 {np.percentile(c, 99):.3f} max {c.max():.3f}"
    )
    print(
        f"seed-dev answered {answered.questions - answered.no_answer}/{answered.questions}; "
        f"confidences {sorted(round(x, 3) for x in answered.confidences)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    ev = sub.add_parser("eval")
    for name in ("factbook", "squad", "seed", "beir"):
        ev.add_argument(f"--{name}", type=Path)
    ev.add_argument("--out", type=Path)
    tune = sub.add_parser("tune")
    tune.add_argument("--index", type=Path, required=True)
    tune.add_argument("--questions", type=Path, required=True)
    tune.add_argument(
        "--lexical", type=float, nargs="+", default=[0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0]
    )
    tune.add_argument("--name", type=float, nargs="+", default=[0.0, 0.05, 0.1, 0.15, 0.2, 0.3])
    tune.add_argument("--show", type=int, default=15)
    blend = sub.add_parser("blend")
    blend.add_argument("--seed", type=Path, required=True)
    args = parser.parse_args()
    {"eval": cmd_eval, "tune": cmd_tune, "blend": cmd_blend}[args.command](args)


if __name__ == "__main__":
    main()
