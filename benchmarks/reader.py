"""Would a reader (a small cross-encoder reading the question and a candidate answer together)
pick the answer window better than the answer model's linear window ranker? An experiment,
not shipped: docs/retrieval.md gives its figures.

    python -m benchmarks.reader train --out /tmp/reader.pt [--layers 3] [--questions 1600]
        fine-tunes the first LAYERS layers of all-MiniLM-L6-v2 (its word embeddings frozen) with a
        mean-pooled linear head: per question, a softmax over the window holding the answer and
        five that do not (three from its paragraph, two from the article's others) should put
        its weight on the first. Trained on the SQuAD v1.1 dev articles that
        squad-culture-dev does not use (30 of 48 articles, 7,057 questions with a window that
        holds the answer), so no set it is scored on is seen.
    python -m benchmarks.reader score --reader /tmp/reader.pt --student DIR [--factbook DIR]
        on each answerable dev question, the windows of the first five passages (as the answer
        model sees them): how often the right window is among the eight the linear ranker
        puts first ("any"), and how often the first one is right by the linear ranker, by the
        reader alone, and by linear + k x reader; and the reader's time per question.

Needs torch and transformers, which sentence-transformers installs.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.answer_model import PASSAGES, SHARED, Asked, load_sets
from cultureqa.embedding.base import resolve_model_path
from cultureqa.embedding.factory import load_embedder
from cultureqa.search.answer_model import default_models
from cultureqa.search.highlight import windows_of
from cultureqa.settings import Settings

BASE = "all-MiniLM-L6-v2"  # the reader starts from the default embedding model's weights
HARD_NEGATIVES = 3  # windows of the question's own paragraph that do not hold the answer
OTHER_NEGATIVES = 2  # windows of the article's other paragraphs
MAX_TOKENS = 96
READ = 8  # the reader reads the linear ranker's first windows only
COMBINED = (0.25, 0.5, 1.0, 2.0)


def reader_model(layers: int) -> Any:
    """The first `layers` layers of the base model with a linear head on mean-pooled states."""
    import torch
    from transformers import BertModel

    class Reader(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            bert = BertModel.from_pretrained(resolve_model_path(BASE), add_pooling_layer=False)
            bert.encoder.layer = bert.encoder.layer[:layers]
            bert.config.num_hidden_layers = layers
            for parameter in bert.embeddings.parameters():
                parameter.requires_grad = False
            self.bert = bert
            self.head = torch.nn.Linear(bert.config.hidden_size, 1)

        def forward(self, encoded: Any) -> Any:
            states = self.bert(**encoded).last_hidden_state
            mask = encoded["attention_mask"].unsqueeze(-1).float()
            return self.head((states * mask).sum(1) / mask.sum(1)).squeeze(-1)

    return Reader()


def squad_training_items(seed: int = 0) -> list[tuple[str, str, list[str]]]:
    """(question, window holding its answer, windows that do not), each window read after its
    article's title, from the SQuAD dev articles squad-culture-dev does not use."""
    with (SHARED / "eval" / "squad-culture-dev.jsonl").open(encoding="utf-8") as lines:
        scored = {json.loads(line)["doc"] for line in lines}
    data = json.loads((SHARED / "data" / "squad-v1.1-dev" / "dev-v1.1.json").read_text())["data"]
    rng = random.Random(seed)  # noqa: S311 - a shuffle of training data
    items = []
    for article in data:
        if article["title"] in scored:
            continue
        title = article["title"].replace("_", " ")
        paragraphs = [
            [f"{title}. {p['context'][a:b]}" for a, b in windows_of(p["context"])]
            for p in article["paragraphs"]
        ]
        for i, paragraph in enumerate(article["paragraphs"]):
            others = [w for j, ws in enumerate(paragraphs) if j != i for w in ws]
            for qa in paragraph["qas"]:
                answers = [a["text"].casefold() for a in qa["answers"]]
                holds = [any(a in w.casefold() for a in answers) for w in paragraphs[i]]
                right = [w for w, h in zip(paragraphs[i], holds, strict=True) if h]
                wrong = [w for w, h in zip(paragraphs[i], holds, strict=True) if not h]
                if not right:
                    continue
                rng.shuffle(wrong)
                negatives = wrong[:HARD_NEGATIVES]
                negatives += rng.sample(others, HARD_NEGATIVES + OTHER_NEGATIVES - len(negatives))
                items.append((qa["question"], rng.choice(right), negatives))
    rng.shuffle(items)
    return items


def train(out: Path, layers: int, questions: int, batch: int = 4) -> None:
    import torch
    from transformers import AutoTokenizer

    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(resolve_model_path(BASE))
    model = reader_model(layers)
    items = squad_training_items()[:questions]
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=5e-5, weight_decay=0.01)
    steps = len(items) // batch
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min(1.0, (s + 1) / 30) * max(0.0, 1 - s / steps)
    )
    model.train()
    started, running = time.perf_counter(), 0.0
    for step in range(steps):
        chunk = items[step * batch : (step + 1) * batch]
        pairs = [(q, w) for q, right, wrong in chunk for w in [right, *wrong]]
        encoded = tokenizer(
            [q for q, _ in pairs],
            [w for _, w in pairs],
            truncation="only_second",
            max_length=MAX_TOKENS,
            padding=True,
            return_tensors="pt",
        )
        scores = model(encoded).view(len(chunk), -1)
        loss = torch.nn.functional.cross_entropy(scores, torch.zeros(len(chunk), dtype=torch.long))
        optimizer.zero_grad()
        loss.backward()  # type: ignore[no-untyped-call]
        optimizer.step()
        schedule.step()
        running = 0.95 * running + 0.05 * float(loss) if step else float(loss)
        if step % 25 == 0:
            took = time.perf_counter() - started
            print(f"step {step}/{steps}: loss {running:.3f}, {took:.0f} s", flush=True)
    torch.save({"layers": layers, "state": model.state_dict()}, out)
    print(f"{len(items)} questions, {time.perf_counter() - started:.0f} s; saved {out}")


def candidates(asked: Asked) -> Iterator[tuple[float, str, bool]]:
    """Each window of the first passages: the shipped linear ranker's score, its text as the
    reader reads it, and whether it holds a right answer."""
    models = default_models()
    model = models.fields if asked.fields else models.prose
    for windows, right in zip(asked.windows[:PASSAGES], asked.right[:PASSAGES], strict=True):
        if windows is None or right is None:
            continue
        passage = asked.hits[windows.hit].passage
        headings = f"{passage.heading_path}. " if passage.heading_path else ""
        context = f"{passage.title}. {headings}"
        texts = [passage.text[a:b] for a, b in windows_of(passage.text)]
        scores = model.window_scores(windows.features)
        for text, score, ok in zip(texts, scores, right, strict=True):
            yield float(score), context + text, bool(ok)


def score(reader_file: Path, indexes: dict[str, Path]) -> None:
    import torch
    from transformers import AutoTokenizer

    saved = torch.load(reader_file)
    tokenizer = AutoTokenizer.from_pretrained(resolve_model_path(BASE))
    reader = reader_model(saved["layers"])
    reader.load_state_dict(saved["state"])
    reader.eval()
    asked = load_sets(indexes, load_embedder(Settings()))
    picks: dict[str, list[dict[str, bool]]] = {}
    spent, read = 0.0, 0
    for a in asked:
        rows = list(candidates(a))
        if a.question.doc is None or not rows:
            continue
        linear = np.array([s for s, _, _ in rows])
        right = np.array([ok for _, _, ok in rows])
        first = np.argsort(-linear)[:READ]
        started = time.perf_counter()
        with torch.no_grad():
            encoded = tokenizer(
                [a.question.question] * len(first),
                [rows[i][1] for i in first],
                truncation="only_second",
                max_length=MAX_TOKENS,
                padding=True,
                return_tensors="pt",
            )
            logits = reader(encoded).numpy()
        spent += time.perf_counter() - started
        read += 1
        by_reader = np.full(len(rows), -np.inf)
        by_reader[first] = logits
        unread = np.where(np.isfinite(by_reader), by_reader, -50.0)
        outcome = {
            "any": bool(right[first].any()),
            "linear": bool(right[int(np.argmax(linear))]),
            "reader": bool(right[int(np.argmax(by_reader))]),
        }
        for k in COMBINED:
            combined = linear - linear.max() + k * unread
            outcome[f"linear+{k}x"] = bool(right[int(np.argmax(combined))])
        picks.setdefault(a.set, []).append(outcome)
    for name, outcomes in picks.items():
        shares = {k: round(sum(o[k] for o in outcomes) / len(outcomes), 3) for k in outcomes[0]}
        print(f"{name} ({len(outcomes)} answerable): {shares}")
    print(f"reader: {spent / max(1, read) * 1000:.1f} ms a question ({READ} windows)")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    fit = commands.add_parser("train")
    fit.add_argument("--out", type=Path, required=True)
    fit.add_argument("--layers", type=int, default=3)
    fit.add_argument("--questions", type=int, default=1600)
    rate = commands.add_parser("score")
    rate.add_argument("--reader", type=Path, required=True)
    for name in ("student", "factbook", "seed", "squad"):
        rate.add_argument(f"--{name}", type=Path)
    args = parser.parse_args(argv)
    if args.command == "train":
        train(args.out, args.layers, args.questions)
    else:
        names = ("student", "factbook", "seed", "squad")
        score(args.reader, {n: getattr(args, n) for n in names if getattr(args, n)})


if __name__ == "__main__":
    main()
