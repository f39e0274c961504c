"""Ingest speed: the whole `cultureqa ingest` path next to model.encode alone (the floor), and
the re-ingest of an unchanged corpus, all in one run with one loaded model.

    .venv/bin/python -m benchmarks.ingest SOURCE [--format FMT] [--json-out FILE] [--keep DIR]

Prints passages/s for each and the ratios the issues ask about; writes JSON with --json-out.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from benchmarks.common import machine, stopwatch, write_json
from cultureqa.corpus import load_corpus
from cultureqa.corpus.passages import split_passages
from cultureqa.embedding.factory import load_embedder
from cultureqa.embedding.torch_backend import SentenceTransformerEmbedder
from cultureqa.index.ingest import ingest
from cultureqa.settings import Settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", type=Path)
    parser.add_argument("--format", default="auto")
    parser.add_argument("--model", default="all-MiniLM-L6-v2")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--backend", default="auto", choices=["auto", "onnx", "torch"])
    parser.add_argument("--json-out", type=Path)
    parser.add_argument(
        "--keep",
        type=Path,
        metavar="DIR",
        help="keep the index, as DIR's default collection (where `cultureqa ingest --index-dir "
        "DIR` puts it) [a temporary directory]",
    )
    parser.add_argument(
        "--no-floor", action="store_true", help="skip model.encode alone (ingest timings only)"
    )
    args = parser.parse_args()

    embedder = load_embedder(Settings(model=args.model, backend=args.backend))
    # The floor is sentence-transformers' own encode, whatever backend ingest uses.
    model = SentenceTransformerEmbedder(args.model)._model
    model.encode(["warm up the model"] * 8)

    corpus = load_corpus([args.source], args.format)
    texts = [
        p.embedding_text
        for a in corpus.articles
        for p in split_passages(a, embedder.count_tokens, embedder.max_tokens)
    ]
    print(f"{len(corpus.articles)} articles, {len(texts)} passages", file=sys.stderr)

    floor = [0.0]
    if not args.no_floor:
        with stopwatch() as floor:
            model.encode(texts, batch_size=args.batch_size, normalize_embeddings=True)
    with tempfile.TemporaryDirectory() as tmp:
        index_dir = (args.keep or Path(tmp)) / "default"
        with stopwatch() as first:
            report = ingest(
                [args.source], index_dir, embedder, fmt=args.format, batch_size=args.batch_size
            )
        with stopwatch() as again:
            repeat = ingest(
                [args.source], index_dir, embedder, fmt=args.format, batch_size=args.batch_size
            )
    n = len(texts)
    result: dict[str, object] = {
        "machine": machine(),
        "source": str(args.source),
        "format": args.format,
        "backend": type(embedder).__name__,
        "articles": report.articles,
        "passages": n,
        "ingest": {"seconds": round(first[0], 2), "passages_per_s": round(n / first[0], 1)},
        "reingest_unchanged": {"seconds": round(again[0], 2), "embedded": repeat.embedded},
        "reingest_share_of_first": round(again[0] / first[0], 4),
    }
    lines = [f"ingest:       {n / first[0]:.1f} passages/s ({first[0]:.1f} s)"]
    if not args.no_floor:
        result["encode_only"] = {
            "seconds": round(floor[0], 2),
            "passages_per_s": round(n / floor[0], 1),
        }
        result["ingest_vs_encode_throughput"] = round(floor[0] / first[0], 3)
        lines.insert(0, f"encode alone: {n / floor[0]:.1f} passages/s ({floor[0]:.1f} s)")
        lines.append(f"ingest throughput is {floor[0] / first[0]:.2f}x encode alone")
    lines.append(
        f"re-ingest:    {again[0]:.1f} s, {again[0] / first[0]:.1%} of the first ingest "
        f"({repeat.embedded} passages embedded)"
    )
    print("\n".join(lines))
    write_json(args.json_out, result)


if __name__ == "__main__":
    main()
