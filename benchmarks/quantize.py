"""ONNX int8 (dynamic quantization of the exported graph) against the fp32 export: speed and
retrieval quality, to decide whether int8 may be the default (issue 7: only if it keeps quality).

    .venv/bin/python -m benchmarks.quantize SOURCE --format FMT --index-dir DIR QUESTIONS.jsonl

DIR is an index of SOURCE built with the fp32 model (`cultureqa ingest SOURCE --format FMT
--index-dir DIR`); the int8 index is built here, in a temporary directory, from the same source.
Both are scored on QUESTIONS with `cultureqa eval`'s code; speed is measured on the same texts
with both graphs, interleaved.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.common import machine, summary_ms, write_json
from cultureqa.embedding.base import resolve_model_path
from cultureqa.embedding.onnx_backend import OnnxEmbedder
from cultureqa.evaluation.questions import load_any_questions, run_eval
from cultureqa.index.ingest import ingest
from cultureqa.index.store import load_index
from cultureqa.settings import Settings

SAMPLE = 512  # passages timed with both graphs


def quantize(source: Path, target: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(str(source), str(target), weight_type=QuantType.QInt8)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", type=Path)
    parser.add_argument("questions", type=Path)
    parser.add_argument("--format", default="auto")
    parser.add_argument("--index-dir", type=Path, required=True, help="the fp32 index of SOURCE")
    parser.add_argument("--json-out", type=Path)
    args = parser.parse_args()

    settings = Settings()
    model_dir = Path(resolve_model_path(settings.model))
    fp32 = OnnxEmbedder(settings.model, model_dir, cache_dir=settings.model_cache_dir)
    index = load_index(args.index_dir, model=fp32.name, dimension=fp32.dimension)
    questions = load_any_questions(args.questions)
    texts = [p.embedding_text for p in index.passages[:SAMPLE]]

    with tempfile.TemporaryDirectory() as tmp:
        int8_graph = Path(tmp) / "model-int8.onnx"
        quantize(fp32.graph, int8_graph)
        int8 = OnnxEmbedder(settings.model, model_dir, graph=int8_graph)

        # Speed: the same passages and questions through both graphs, interleaved.
        batch_seconds = {"fp32": 0.0, "int8": 0.0}
        vectors = {}
        for name, embedder in (("fp32", fp32), ("int8", int8), ("fp32", fp32), ("int8", int8)):
            started = time.perf_counter()
            vectors[name] = embedder.embed(texts)
            batch_seconds[name] += time.perf_counter() - started
        query_seconds: dict[str, list[float]] = {"fp32": [], "int8": []}
        for question in questions[:300]:
            for name, embedder in (("fp32", fp32), ("int8", int8)):
                started = time.perf_counter()
                embedder.embed([question.question])
                query_seconds[name].append(time.perf_counter() - started)
        agreement = np.sum(vectors["fp32"] * vectors["int8"], axis=1)

        print(f"building the int8 index of {args.source} ...", file=sys.stderr)
        int8_dir = Path(tmp) / "index"
        ingest([args.source], int8_dir, int8, fmt=args.format, progress=True)
        int8_index = load_index(int8_dir, model=int8.name, dimension=int8.dimension)
        scores = {
            "fp32": run_eval(questions, fp32, index, ("default", "dense"), progress=True),
            "int8": run_eval(questions, int8, int8_index, ("default", "dense"), progress=True),
        }

    result: dict[str, object] = {
        "machine": machine(),
        "questions": str(args.questions),
        "passages": len(index.passages),
        "cosine_fp32_vs_int8": {
            "mean": round(float(agreement.mean()), 4),
            "min": round(float(agreement.min()), 4),
        },
    }
    print(f"{len(texts)} passages embedded twice with each graph; {len(questions)} questions")
    print(
        f"cosine of fp32 and int8 vectors: mean {agreement.mean():.4f}, min {agreement.min():.4f}"
    )
    print(
        f"{'graph':<6} {'passages/s':>10} {'query p50 ms':>12} {'retriever':>10} "
        f"{'R@1':>6} {'R@5':>6} {'MRR@10':>7}"
    )
    for name in ("fp32", "int8"):
        rate = 2 * len(texts) / batch_seconds[name]
        query = summary_ms(query_seconds[name])
        result[name] = {
            "passages_per_s": round(rate, 1),
            "query": query,
            **{r: s.as_dict() for r, s in scores[name].items()},
        }
        for retriever, s in scores[name].items():
            print(
                f"{name:<6} {rate:>10.1f} {query['median_ms']:>12.2f} {retriever:>10} "
                f"{s.recall_at_1:>6.3f} {s.recall_at_5:>6.3f} {s.mrr_at_10:>7.3f}"
            )
    write_json(args.json_out, result)


if __name__ == "__main__":
    main()
