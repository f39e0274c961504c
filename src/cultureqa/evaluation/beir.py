"""BEIR-format sets (corpus.jsonl, queries.jsonl, qrels/test.tsv), scored by nDCG@10 by doc id.

This checks our retrieval and metric code against published figures. Each document is one
article and one passage (id = `_id`, title and text as given), which the model reads up to its
window, as BEIR and MTEB do. nDCG uses the graded judgments as gains (as trec_eval and BEIR do).
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from cultureqa.corpus import Article, Paragraph, Section
from cultureqa.corpus.passages import SPLITTER_VERSION
from cultureqa.embedding.base import Embedder
from cultureqa.errors import CorpusError, IndexUnavailableError
from cultureqa.index.ingest import ingest_articles
from cultureqa.index.store import load_index, read_manifest
from cultureqa.search.retrieval import make_retriever

SEARCH_DEPTH = 100  # passages searched per query, to fill 10 distinct documents


@dataclass(frozen=True)
class BeirResult:
    dataset: str
    queries: int
    documents: int
    ndcg: dict[str, float]  # retriever → mean nDCG@10

    def as_dict(self) -> dict[str, object]:
        return {
            "dataset": self.dataset,
            "queries": self.queries,
            "documents": self.documents,
            "ndcg@10": {k: round(v, 4) for k, v in self.ndcg.items()},
        }


def _jsonl(path: Path) -> list[dict[str, str]]:
    try:
        with path.open(encoding="utf-8") as handle:
            return [json.loads(line) for line in handle if line.strip()]
    except (OSError, ValueError) as exc:
        raise CorpusError(f"{path}: not a readable JSONL file: {exc}") from exc


def load_qrels(path: Path) -> dict[str, dict[str, int]]:
    qrels: dict[str, dict[str, int]] = {}
    try:
        with path.open(encoding="utf-8") as handle:
            rows = list(csv.reader(handle, delimiter="\t"))
    except OSError as exc:
        raise CorpusError(f"{path}: cannot read: {exc}") from exc
    for row in rows[1:]:  # a header line first
        if len(row) >= 3:
            qrels.setdefault(row[0], {})[row[1]] = int(row[2])
    return qrels


def ndcg_at_10(ranked: Sequence[str], judged: dict[str, int]) -> float:
    dcg = sum(judged.get(doc, 0) / math.log2(i + 2) for i, doc in enumerate(ranked[:10]))
    ideal = sorted((g for g in judged.values() if g > 0), reverse=True)[:10]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg > 0 else 0.0


def beir_articles(corpus: Path) -> list[Article]:
    return [
        Article(
            id=str(doc["_id"]),
            title=str(doc.get("title") or ""),
            sections=(Section((), "", (Paragraph(str(doc.get("text") or ""), 1),)),),
            source_file=corpus.name,
        )
        for doc in _jsonl(corpus)
    ]


def _fingerprint(corpus: Path, max_tokens: int) -> str:
    digest = hashlib.sha256(f"beir;splitter={SPLITTER_VERSION};max={max_tokens}".encode())
    digest.update(hashlib.sha256(corpus.read_bytes()).digest())
    return digest.hexdigest()


def run_beir(
    directory: Path,
    index_dir: Path,
    embedder: Embedder,
    retrievers: Sequence[str],
    *,
    split: str = "test",
    progress: bool = False,
) -> BeirResult:
    """nDCG@10 of each retriever on the split; indexes the corpus into `index_dir` when the index
    there was not built from it with this model."""
    corpus = directory / "corpus.jsonl"
    qrels = load_qrels(directory / "qrels" / f"{split}.tsv")
    queries = {str(q["_id"]): str(q["text"]) for q in _jsonl(directory / "queries.jsonl")}
    fingerprint = _fingerprint(corpus, embedder.max_tokens)
    try:
        fresh = read_manifest(index_dir).corpus_fingerprint == fingerprint
    except IndexUnavailableError:
        fresh = False
    if not fresh:
        ingest_articles(
            beir_articles(corpus),
            index_dir,
            embedder,
            sources=[str(corpus)],
            fingerprint=fingerprint,
            progress=progress,
            cut_sections=False,  # one passage per document, as BEIR and MTEB embed them
        )
    index = load_index(index_dir, model=embedder.name, dimension=embedder.dimension)
    ids = [q for q in qrels if q in queries]
    vectors = embedder.embed([queries[q] for q in ids], progress=progress)
    ndcg: dict[str, float] = {}
    for name in retrievers:
        retriever = make_retriever(name, index)
        total = 0.0
        for row, qid in enumerate(tqdm(ids, desc=name, disable=not progress, leave=False)):
            hits = retriever.search_vector(queries[qid], vectors[row : row + 1], SEARCH_DEPTH)
            ranked = list(dict.fromkeys(h.passage.article_id for h in hits))
            total += ndcg_at_10(ranked, qrels[qid])
        ndcg[name] = total / len(ids) if ids else 0.0
    documents = len({p.article_id for p in index.passages})
    return BeirResult(directory.name, len(ids), documents, ndcg)
