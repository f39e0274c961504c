"""Ingest speed: the whole `cultureqa ingest` path next to model.encode alone (the floor), and
the re-ingest of an unchanged corpus, all in one run with one loaded model.

    .venv/bin/python -m benchmarks.ingest SOURCE [--format FMT] [--json-out FILE]

Prints passages/s for each and the ratios the issues ask about; writes JSON with --json-out.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from benchmarks.common import machine, stopwatch, write_json
from cultureqa.corpus import load_corpus
from cultureqa.embedding import SentenceTransformerEmbedder
from cultureqa.ingest import ingest
from cultureqa.passages import split_passages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", type=Path)
    parser.add_argument("--format", default="auto")
    parser.add_argument("--model", default="all-MiniLM-L6-v2")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--json-out", type=Path)
    args = parser.parse_args()

    embedder = SentenceTransformerEmbedder(args.model)
    model = embedder._model  # the raw SentenceTransformer, for the floor
    model.encode(["warm up the model"] * 8)

    corpus = load_corpus([args.source], args.format)
    texts = [
        p.embedding_text
        for a in corpus.articles
        for p in split_passages(a, embedder.count_tokens, embedder.max_tokens)
    ]
    print(f"{len(corpus.articles)} articles, {len(texts)} passages", file=sys.stderr)

    with stopwatch() as floor:
        model.encode(texts, batch_size=args.batch_size, normalize_embeddings=True)
    with tempfile.TemporaryDirectory() as tmp:
        index_dir = Path(tmp) / "index"
        with stopwatch() as first:
            report = ingest(
                [args.source], index_dir, embedder, fmt=args.format, batch_size=args.batch_size
            )
        with stopwatch() as again:
            repeat = ingest(
                [args.source], index_dir, embedder, fmt=args.format, batch_size=args.batch_size
            )
    n = len(texts)
    result = {
        "machine": machine(),
        "source": str(args.source),
        "format": args.format,
        "articles": report.articles,
        "passages": n,
        "encode_only": {"seconds": round(floor[0], 2), "passages_per_s": round(n / floor[0], 1)},
        "ingest": {"seconds": round(first[0], 2), "passages_per_s": round(n / first[0], 1)},
        "reingest_unchanged": {
            "seconds": round(again[0], 2),
            "embedded": repeat.embedded,
        },
        "ingest_vs_encode_throughput": round(floor[0] / first[0], 3),
        "reingest_share_of_first": round(again[0] / first[0], 4),
    }
    print(
        f"encode alone: {n / floor[0]:.1f} passages/s ({floor[0]:.1f} s)\n"
        f"ingest:       {n / first[0]:.1f} passages/s ({first[0]:.1f} s), "
        f"{floor[0] / first[0]:.2f}x the encode-alone throughput\n"
        f"re-ingest:    {again[0]:.1f} s, {again[0] / first[0]:.1%} of the first ingest "
        f"({repeat.embedded} passages embedded)"
    )
    write_json(args.json_out, result)


if __name__ == "__main__":
    main()
