"""HNSW against exact search on a real index: recall@10 and search time per query.

    .venv/bin/python -m benchmarks.vector_index --index-dir DIR [--collection NAME] QUESTIONS...

Builds an HNSW graph (the parameters of src/cultureqa/vectors.py) over the vectors of the
collection's current version, embeds the questions, and compares the top 10 of each search,
for several efSearch values (the service's is marked).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.ask import read_questions
from benchmarks.common import machine, write_json
from cultureqa.embedding.factory import load_embedder
from cultureqa.index.ann import (
    HNSW_EF_CONSTRUCTION,
    HNSW_EF_SEARCH,
    HNSW_NEIGHBOURS,
    build_vector_index,
)
from cultureqa.index.store import load_index
from cultureqa.settings import Settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("questions", type=Path, nargs="+")
    parser.add_argument("--index-dir", type=Path, required=True)
    parser.add_argument("--collection", default="default")
    parser.add_argument("--limit", type=int, default=2000)
    parser.add_argument("--json-out", type=Path)
    parser.add_argument(
        "--ef", type=int, nargs="+", default=[64, 128, 256, 384, 512], help="efSearch values to try"
    )
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

    def timed_search(candidate: Any) -> tuple[float, np.ndarray]:
        started = time.perf_counter()
        for row in range(len(queries)):  # one query at a time, as the service searches
            candidate.search(queries[row : row + 1], 10)
        ms = (time.perf_counter() - started) / len(queries) * 1000
        return ms, candidate.search(queries, 10)[1]

    flat_ms, exact = timed_search(flat)
    sweep = []
    for ef in args.ef:
        hnsw.hnsw.efSearch = ef
        ms, found = timed_search(hnsw)
        recall = float(
            np.mean([len(set(e) & set(a)) / 10 for e, a in zip(exact, found, strict=True)])
        )
        sweep.append(
            {"ef_search": ef, "recall_at_10": round(recall, 4), "ms_per_query": round(ms, 3)}
        )
    result = {
        "machine": machine(),
        "vectors": int(index.vectors.ntotal),
        "queries": len(queries),
        "hnsw": {"m": HNSW_NEIGHBOURS, "ef_construction": HNSW_EF_CONSTRUCTION},
        "hnsw_build_seconds": round(build_seconds, 1),
        "flat_ms_per_query": round(flat_ms, 3),
        "hnsw_ef_search_sweep": sweep,
        "service_ef_search": HNSW_EF_SEARCH,
    }
    print(
        f"{result['vectors']} vectors, {len(queries)} queries; exact search {flat_ms:.2f} ms per "
        f"query; HNSW (M {HNSW_NEIGHBOURS}, efConstruction {HNSW_EF_CONSTRUCTION}) built in "
        f"{build_seconds:.1f} s"
    )
    for row in sweep:
        mark = "  <- the service's efSearch" if row["ef_search"] == HNSW_EF_SEARCH else ""
        print(
            f"efSearch {row['ef_search']:>4}: recall@10 {row['recall_at_10']:.4f}, "
            f"{row['ms_per_query']:.2f} ms per query{mark}"
        )
    write_json(args.json_out, result)


if __name__ == "__main__":
    main()
