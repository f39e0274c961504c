"""What a student sees, on every set at once (the answer model is fit by
benchmarks/answer_model.py).

    python -m benchmarks.answers report --student DIR --factbook DIR --seed DIR [--squad DIR]
        R@1 of the three rankings and answer_right / answer_wrong / honest_no_answer on each
        set, dev and validation, plus BLEnD (UK, US, Mexico, Spain, Greece) asked of the
        Factbook (its dev and validation halves) and of the seed article: answered rate and the
        precision of the answers shown

Each DIR is an index directory made by `cultureqa ingest` (the commands are in
docs/retrieval.md). Tune on dev splits only; the validation splits are for the report.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from benchmarks.common import machine
from cultureqa.embedding.base import Embedder
from cultureqa.embedding.factory import load_embedder
from cultureqa.evaluation.questions import (
    load_any_questions,
    load_blend,
    no_answer_rate,
    run_eval,
)
from cultureqa.index.collections import open_index
from cultureqa.search import RETRIEVERS
from cultureqa.settings import Settings

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "benchmarks" / "data"
SHARED = REPO.parent / "shared"

# (name, question file, which index) for the report; `split` is dev or validation.
SETS = [
    ("student-dev", DATA / "student" / "dev.jsonl", "student"),
    ("student-validation", DATA / "student" / "validation.jsonl", "student"),
    ("factbook-everyday-dev", DATA / "factbook-everyday" / "dev.jsonl", "factbook"),
    ("factbook-everyday-validation", DATA / "factbook-everyday" / "validation.jsonl", "factbook"),
    ("factbook-dev", SHARED / "eval" / "factbook-dev.jsonl", "factbook"),
    ("seed-dev", SHARED / "eval" / "seed-dev.jsonl", "seed"),
    ("squad-culture-dev", SHARED / "eval" / "squad-culture-dev.jsonl", "squad"),
]


def _embedder() -> Embedder:
    return load_embedder(Settings())


def cmd_report(args: argparse.Namespace) -> None:
    embedder = _embedder()
    dirs = {"student": args.student, "factbook": args.factbook, "seed": args.seed}
    dirs["squad"] = args.squad
    indexes = {k: open_index(Settings(index_dir=d), embedder) for k, d in dirs.items() if d}
    report: dict[str, Any] = {"machine": machine(), "model": embedder.name, "sets": {}}
    print(f"{'set':<30} {'n':>5} {'R@1':>6} {'dense':>6} {'bm25':>6} right  wrong honest")
    for name, path, which in SETS:
        if which not in indexes:
            continue
        results = run_eval(load_any_questions(path), embedder, indexes[which], RETRIEVERS)
        default = results["default"]
        a = default.answers
        honest = "-" if a.honest_no_answer is None else f"{a.honest_no_answer:.3f}"
        print(
            f"{name:<30} {default.questions:>5} {default.recall_at_1:>6.3f} "
            f"{results['dense'].recall_at_1:>6.3f} {results['bm25'].recall_at_1:>6.3f} "
            f"{a.answer_right:.3f} {a.answer_wrong:.3f} {honest:>6}"
        )
        report["sets"][name] = {r: s.as_dict() for r, s in results.items()}
    blend = load_blend(SHARED / "data" / "blend")
    # The even half is the answer model's dev set (benchmarks/answer_model.py), the odd half
    # its validation; the seed article never saw either.
    halves = {"all": blend, "dev": blend[0::2], "validation": blend[1::2]}
    for which, half in (("factbook", "dev"), ("factbook", "validation"), ("seed", "all")):
        if which not in indexes:
            continue
        outcome = no_answer_rate(halves[half], embedder, indexes[which], progress=True)
        precision = "-" if outcome.precision is None else f"{outcome.precision:.3f}"
        print(
            f"BLEnD ({half}) asked of {which}: {outcome.questions} questions, answered "
            f"{outcome.answered} ({outcome.answered / outcome.questions:.3f}), no answer "
            f"{outcome.rate:.3f}, answers holding an annotated answer: {precision}"
        )
        report[f"blend-{half}-{which}"] = {
            "questions": outcome.questions,
            "answered": outcome.answered,
            "no_answer_rate": round(outcome.rate, 4),
            "precision": outcome.precision and round(outcome.precision, 4),
        }
    if args.json_out:
        args.json_out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {args.json_out}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    report = commands.add_parser("report", help="every set, dev and validation, and BLEnD")
    for name in ("student", "factbook", "seed", "squad"):
        report.add_argument(f"--{name}", type=Path, default=None, help=f"the {name} index dir")
    report.add_argument("--json-out", type=Path, default=None)
    args = parser.parse_args(argv)
    {"report": cmd_report}[args.command](args)


if __name__ == "__main__":
    main()
