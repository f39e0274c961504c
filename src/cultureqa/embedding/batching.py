"""Micro-batching: questions embedded at about the same time by different threads share forward
passes of the model, which costs less per question than one pass each.

A pass has a fixed cost (about 1.5 ms for all-MiniLM-L6-v2 on ONNX Runtime, one thread, here)
on top of its cost per token (0.13-0.18 ms), so eight questions of one length cost less than
half as much in one pass as in eight. The catch is padding: a pass pads every text to its
longest, so a batch is split into passes of like lengths when padding would cost more than a
pass (`passes_by_length`). With real questions (10-48 tokens) the saving is smaller, 12-29% of
the model's time, and on 2 cores it did not pay for the waiting and the threads: micro-batching
is off by default (docs/benchmarks.md).

There is no batching thread: the first caller to find no batch forming leads the next one. It
waits while every pass slot is busy (questions queue behind it meanwhile) and, when the server
is busy, up to `window` seconds from its arrival for more questions; then it takes up to
`max_texts` of them, runs the pass in its own thread and hands each caller its rows, or the
pass's exception. A question that arrives at an idle batcher (nothing queued, no pass
running) is embedded at once, so a lone client never waits for the window.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from cultureqa.embedding.base import Embedder, Span, Vectors
from cultureqa.settings import Settings

# The fixed cost of one forward pass, in padded tokens of one text: all-MiniLM-L6-v2 on ONNX
# Runtime (one thread, this CPU) costs about 1.5 ms a pass plus 0.18 ms a token.
PASS_COST_TOKENS = 8


@dataclass(eq=False)
class _Request:
    """One caller's texts, and what its batch's leader hands back."""

    texts: list[str]
    arrived: float
    wake: threading.Event = field(default_factory=threading.Event)
    lead: bool = False  # woken to lead the next batch rather than with a result
    vectors: Vectors | None = None
    error: BaseException | None = None

    def result(self) -> Vectors:
        if self.error is not None:
            raise self.error
        if self.vectors is None:  # pragma: no cover - the leader sets one before waking us
            raise RuntimeError("woken without a result")
        return self.vectors


@dataclass
class BatchStats:
    """Counts since start: forward passes run, the texts in them and the calls they served."""

    passes: int = 0
    texts: int = 0
    calls: int = 0


class MicroBatcher:
    """An Embedder whose small `embed` calls (a question, or a question and its context) from
    concurrent threads are embedded together; everything else (ingest's batches,
    `embed_sentences`) goes straight to the wrapped embedder.

    `window`: seconds a batch may wait for more questions when the server is busy; `max_texts`:
    most texts in one batch; `slots`: forward passes that may run at once (one per core the
    process has). The wrapped embedder must allow concurrent calls from several threads (ONNX
    Runtime's sessions and sentence-transformers both do).
    """

    def __init__(self, inner: Embedder, *, window: float, max_texts: int, slots: int) -> None:
        self._inner = inner
        self._window = window
        self._max_texts = max_texts
        self._slots = slots
        self._changed = threading.Condition()  # the queue or the running passes changed
        self._queue: deque[_Request] = deque()
        self._leading = False  # a caller is forming the next batch (or has been woken to)
        self._running = 0
        self._closed = False
        self.stats = BatchStats()

    @property
    def inner(self) -> Embedder:
        return self._inner

    @property
    def queued(self) -> int:
        """Calls waiting for a batch to take them."""
        with self._changed:
            return len(self._queue)

    @property
    def name(self) -> str:
        return self._inner.name

    @property
    def dimension(self) -> int:
        return self._inner.dimension

    @property
    def max_tokens(self) -> int:
        return self._inner.max_tokens

    def count_tokens(self, text: str) -> int:
        return self._inner.count_tokens(text)

    def embed_sentences(
        self,
        texts: Sequence[str],
        spans: Sequence[Sequence[Span]],
        *,
        batch_size: int = 64,
        progress: bool = False,
    ) -> tuple[Vectors, Vectors]:
        return self._inner.embed_sentences(texts, spans, batch_size=batch_size, progress=progress)

    def embed(
        self, texts: Sequence[str], *, batch_size: int = 64, progress: bool = False
    ) -> Vectors:
        """The wrapped embedder's vectors; a call of at most `max_texts` texts may share its
        forward pass with other threads' calls. Raises what the pass raised."""
        if progress or not 0 < len(texts) <= self._max_texts or self._closed:
            return self._inner.embed(texts, batch_size=batch_size, progress=progress)
        request = _Request(list(texts), time.monotonic())
        with self._changed:
            self._queue.append(request)
            follow = self._leading
            self._leading = True
            if follow:
                self._changed.notify()  # the leader may be waiting for more questions
        if follow:
            request.wake.wait()
            if not request.lead:
                return request.result()
        self._run(self._collect())
        return request.result()

    def close(self) -> None:
        """From now on every call runs on its own. Batches already formed finish (their
        callers are waiting for them); nothing is left waiting."""
        with self._changed:
            self._closed = True

    def _collect(self) -> list[_Request]:
        """As the leader: wait until the batch should go, take it off the queue, and hand the
        lead to the first caller left behind."""
        with self._changed:
            deadline = self._queue[0].arrived + self._window
            while True:
                queued = sum(len(r.texts) for r in self._queue)
                free = self._running < self._slots
                idle = self._running == 0 and len(self._queue) == 1
                left = deadline - time.monotonic()
                if free and (idle or queued >= self._max_texts or left <= 0):
                    break
                self._changed.wait(left if free else None)
            batch: list[_Request] = []
            taken = 0
            while self._queue and (
                not batch or taken + len(self._queue[0].texts) <= self._max_texts
            ):
                taken += len(self._queue[0].texts)
                batch.append(self._queue.popleft())
            self._running += 1
            if self._queue:
                self._queue[0].lead = True
                self._queue[0].wake.set()
            else:
                self._leading = False
        return batch

    def _run(self, batch: list[_Request]) -> None:
        """One batch through the model, each caller's rows (or the error) handed back."""
        texts = [text for request in batch for text in request.texts]
        try:
            vectors = self._embed_by_length(texts)
        except BaseException as exc:  # every caller of the batch gets it, whatever it is
            for request in batch:
                request.error = exc
        else:
            at = 0
            for request in batch:
                request.vectors = vectors[at : at + len(request.texts)]
                at += len(request.texts)
        finally:
            with self._changed:
                self._running -= 1
                self.stats.passes += 1
                self.stats.texts += len(texts)
                self.stats.calls += len(batch)
                self._changed.notify()  # a slot is free for the next leader
            for request in batch:
                request.wake.set()

    def _embed_by_length(self, texts: list[str]) -> Vectors:
        if len(texts) == 1:
            return self._inner.embed(texts)
        lengths = [self._inner.count_tokens(text) for text in texts]
        out = np.empty((len(texts), self._inner.dimension), dtype=np.float32)
        for rows in passes_by_length(lengths):
            out[rows] = self._inner.embed([texts[i] for i in rows], batch_size=len(rows))
        return out


def passes_by_length(lengths: Sequence[int], pass_cost: int = PASS_COST_TOKENS) -> list[list[int]]:
    """Row numbers of texts of these token lengths in passes of like lengths, chosen to
    minimize the cost in padded tokens: each pass costs `pass_cost` plus its size times its
    longest text. (Exact, by dynamic programming over the texts sorted by length.)"""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    best = [0] + [0] * len(order)  # best[j]: cheapest cost of the j shortest texts
    cut = [0] * (len(order) + 1)  # where the last pass of best[j] starts
    for j in range(1, len(order) + 1):
        longest = lengths[order[j - 1]]
        best[j], cut[j] = min((best[i] + pass_cost + (j - i) * longest, i) for i in range(j))
    groups: list[list[int]] = []
    j = len(order)
    while j > 0:
        groups.append(order[cut[j] : j])
        j = cut[j]
    return groups[::-1]


def micro_batched(embedder: Embedder, settings: Settings, slots: int) -> Embedder:
    """The embedder behind a MicroBatcher as the settings ask (`slots`: passes at once), or
    as it is with micro-batching off."""
    if not settings.micro_batching:
        return embedder
    return MicroBatcher(
        embedder,
        window=settings.micro_batch_window_ms / 1000,
        max_texts=settings.micro_batch_max,
        slots=slots,
    )
