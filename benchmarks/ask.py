"""The in-process ask path next to its floor: one query embedding plus one FAISS search.

    .venv/bin/python -m benchmarks.ask --index-dir DIR [--collection NAME] QUESTIONS.jsonl ...

QUESTIONS are JSONL files with a `question` field (shared/eval sets, for example). Each question
is timed both ways, interleaved, after a warm-up, so drift hits both alike, with the threads a
served ask gets (one model thread, one FAISS thread).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from benchmarks.common import machine, summary_ms, write_json
from cultureqa.embedding.factory import load_embedder
from cultureqa.runtime import apply_threads, serving_plan
from cultureqa.search.library import Library
from cultureqa.settings import Settings


def read_questions(paths: list[Path], limit: int) -> list[str]:
    questions: list[str] = []
    for path in paths:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                questions.append(json.loads(line)["question"])
    return questions[:limit]


def measure(
    index_dir: Path, collection: str, questions: list[str], top_k: int = 5, rounds: int = 3
) -> dict[str, Any]:
    """Time the floor and the whole ask path on each question, interleaved, after a warm-up."""
    settings = Settings(index_dir=index_dir, default_collection=collection)
    # Threads as `cultureqa serve` runs an ask (runtime.serving_plan), so that the floor and the
    # HTTP figures of benchmarks/speed.py compare like with like.
    plan = serving_plan(settings)
    apply_threads(plan)
    embedder = load_embedder(settings, threads=plan.torch_threads)
    library = Library(settings, embedder)
    library.refresh()
    answerer = library.answerer()
    index = answerer.index

    def floor(question: str) -> None:
        index.search(embedder.embed([question]), top_k)

    def whole(question: str) -> None:
        answerer.ask(question, top_k)

    for question in questions[:20]:  # warm-up: first calls pay for lazy initialisation
        floor(question)
        whole(question)
    floor_times: list[float] = []
    whole_times: list[float] = []
    for _ in range(rounds):
        for question in questions:
            for run, times in ((floor, floor_times), (whole, whole_times)):
                started = time.perf_counter()
                run(question)
                times.append(time.perf_counter() - started)
    floor_ms, ask_ms = summary_ms(floor_times), summary_ms(whole_times)
    return {
        "index": str(index_dir / collection),
        "passages": index.manifest.passages,
        "questions": len(questions),
        "rounds": rounds,
        "floor": floor_ms,
        "ask": ask_ms,
        "median_ratio": round(ask_ms["median_ms"] / floor_ms["median_ms"], 3),
    }


def report(result: dict[str, Any]) -> str:
    floor_ms, ask_ms = result["floor"], result["ask"]
    return (
        f"{result['passages']} passages, {result['questions']} questions x {result['rounds']}\n"
        f"floor (embed + search): median {floor_ms['median_ms']} ms, p95 {floor_ms['p95_ms']} ms\n"
        f"ask (whole path):       median {ask_ms['median_ms']} ms, p95 {ask_ms['p95_ms']} ms\n"
        f"ratio of medians: {result['median_ratio']}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("questions", type=Path, nargs="+")
    parser.add_argument("--index-dir", type=Path, required=True)
    parser.add_argument("--collection", default="default")
    parser.add_argument("--top-k", type=int, default=5)
    parser.add_argument("--limit", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json-out", type=Path)
    args = parser.parse_args()
    questions = read_questions(args.questions, args.limit)
    result = measure(args.index_dir, args.collection, questions, args.top_k, args.rounds)
    print(report(result))
    write_json(args.json_out, {"machine": machine(), **result})


if __name__ == "__main__":
    main()
