"""HNSW against exact search on a real index: recall@10 and search time per query.

    .venv/bin/python -m benchmarks.vector_index --index-dir DIR [--collection NAME] QUESTIONS...

Builds an HNSW graph (the parameters of src/cultureqa/vectors.py) over the vectors of the
collection's current version, embeds the questions, and compares the top 10 of each search.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from benchmarks.ask import read_questions
from benchmarks.common import machine, write_json
from cultureqa.index import load_index
from cultureqa.service import load_embedder
from cultureqa.settings import Settings
from cultureqa.vectors import build_vector_index


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("questions", type=Path, nargs="+")
    parser.add_argument("--index-dir", type=Path, required=True)
    parser.add_argument("--collection", default="default")
    parser.add_argument("--limit", type=int, default=2000)
    parser.add_argument("--json-out", type=Path)
    args = parser.parse_args()

    settings = Settings(index_dir=args.index_dir)
    embedder = load_embedder(settings)
    index = load_index(
        args.index_dir / args.collection, model=embedder.name, dimension=embedder.dimension
    )
    data = index.vectors.reconstruct_n(0, index.vectors.ntotal)
    queries = embedder.embed(read_questions(args.questions, args.limit))
    flat, _ = build_vector_index(data, embedder.dimension, "flat")
    started = time.perf_counter()
    hnsw, _ = build_vector_index(data, embedder.dimension, "hnsw")
    build_seconds = time.perf_counter() - started

    timings: dict[str, float] = {}
    results: dict[str, np.ndarray] = {}
    for name, candidate in (("flat", flat), ("hnsw", hnsw)):
        started = time.perf_counter()
        for row in range(len(queries)):  # one query at a time, as the service searches
            candidate.search(queries[row : row + 1], 10)
        timings[name] = (time.perf_counter() - started) / len(queries) * 1000
        results[name] = candidate.search(queries, 10)[1]
    recall = float(
        np.mean(
            [
                len(set(e) & set(a)) / 10
                for e, a in zip(results["flat"], results["hnsw"], strict=True)
            ]
        )
    )
    result = {
        "machine": machine(),
        "vectors": int(index.vectors.ntotal),
        "queries": len(queries),
        "hnsw_recall_at_10": round(recall, 4),
        "flat_ms_per_query": round(timings["flat"], 3),
        "hnsw_ms_per_query": round(timings["hnsw"], 3),
        "hnsw_build_seconds": round(build_seconds, 1),
    }
    print(
        f"{result['vectors']} vectors, {len(queries)} queries: HNSW recall@10 {recall:.4f}; "
        f"search {timings['flat']:.2f} ms exact vs {timings['hnsw']:.2f} ms HNSW "
        f"(HNSW built in {build_seconds:.1f} s)"
    )
    write_json(args.json_out, result)


if __name__ == "__main__":
    main()
