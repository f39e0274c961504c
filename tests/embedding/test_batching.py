"""Micro-batching: concurrent questions share a forward pass, each caller gets its own rows (or
the pass's error), a lone question goes at once, and batched vectors are the model's own."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence

import numpy as np
import pytest

from cultureqa.embedding.base import Embedder, Vectors
from cultureqa.embedding.batching import MicroBatcher, micro_batched, passes_by_length
from cultureqa.settings import Settings
from tests.helpers import FakeEmbedder

HOUR = 3600.0


class RecordingEmbedder:
    """Another embedder (the fake one by default) recording the texts of each call; the first
    call can be held until released (a pass in progress), and a text "boom" fails its call."""

    def __init__(self, hold_first: bool = False, inner: Embedder | None = None) -> None:
        self.inner = inner or FakeEmbedder()
        self.name, self.dimension = self.inner.name, self.inner.dimension
        self.max_tokens = self.inner.max_tokens
        self.calls: list[list[str]] = []
        self.release = threading.Event()
        self.holding = threading.Event()
        if not hold_first:
            self.release.set()

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)

    def embed(
        self, texts: Sequence[str], *, batch_size: int = 64, progress: bool = False
    ) -> Vectors:
        self.calls.append(list(texts))
        if len(self.calls) == 1:
            self.holding.set()
            self.release.wait()
        if "boom" in texts:
            raise ValueError("the model failed")
        return self.inner.embed(texts, batch_size=batch_size)

    def embed_sentences(
        self,
        texts: Sequence[str],
        spans: Sequence[Sequence[tuple[int, int]]],
        *,
        batch_size: int = 64,
        progress: bool = False,
    ) -> tuple[Vectors, Vectors]:
        self.calls.append(list(texts))
        return self.inner.embed_sentences(texts, spans)


def wait_until(condition: Callable[[], bool]) -> None:
    """Poll until `condition()` holds (a liveness wait, not a speed assertion)."""
    deadline = time.monotonic() + 60
    while not condition():
        assert time.monotonic() < deadline, "gave up waiting"
        time.sleep(0.001)


def run_in_threads(batcher: Embedder, calls: list[list[str]]) -> list[threading.Thread]:
    """Start one thread per call; each stores its vectors or its exception in `results`."""
    threads = []
    for texts in calls:

        def work(texts: list[str] = texts) -> None:
            try:
                RESULTS[tuple(texts)] = batcher.embed(texts)
            except Exception as exc:
                RESULTS[tuple(texts)] = exc

        thread = threading.Thread(target=work)
        thread.start()
        threads.append(thread)
    return threads


RESULTS: dict[tuple[str, ...], Vectors | Exception] = {}


@pytest.fixture(autouse=True)
def _clear_results() -> None:
    RESULTS.clear()


def held_batch(
    inner: RecordingEmbedder, calls: list[list[str]], max_texts: int = 16
) -> MicroBatcher:
    """A batcher with one pass slot, busy with a first question while `calls` arrive from
    their own threads; then the first pass ends and the queued calls are batched."""
    batcher = MicroBatcher(inner, window=0, max_texts=max_texts, slots=1)
    first = run_in_threads(batcher, [["first question"]])
    inner.holding.wait()
    threads = run_in_threads(batcher, calls)
    wait_until(lambda: batcher.queued == len(calls))
    inner.release.set()
    for thread in first + threads:
        thread.join()
    return batcher


def test_concurrent_callers_share_one_pass_and_get_their_own_rows() -> None:
    inner = RecordingEmbedder(hold_first=True)
    calls = [[f"question {i} about food"] for i in range(6)] + [["a follow-up", "its context"]]
    batcher = held_batch(inner, calls)
    assert inner.calls[0] == ["first question"]
    assert sorted(map(len, inner.calls[1:])) == [8]  # the 7 waiting calls in one pass
    for texts in calls:
        got = RESULTS[tuple(texts)]
        assert isinstance(got, np.ndarray)
        np.testing.assert_array_equal(got, FakeEmbedder().embed(texts))
    assert (batcher.stats.passes, batcher.stats.texts, batcher.stats.calls) == (2, 9, 8)


def test_a_batch_takes_at_most_max_texts() -> None:
    inner = RecordingEmbedder(hold_first=True)
    calls = [[f"question {i}"] for i in range(5)]
    held_batch(inner, calls, max_texts=2)
    assert [len(call) for call in inner.calls] == [1, 2, 2, 1]
    assert all(isinstance(RESULTS[tuple(texts)], np.ndarray) for texts in calls)


def test_an_error_reaches_every_caller_of_the_batch_and_only_them() -> None:
    inner = RecordingEmbedder(hold_first=True)
    calls = [["one"], ["boom"], ["two", "three"]]
    batcher = held_batch(inner, calls)
    for texts in calls:
        got = RESULTS[tuple(texts)]
        assert isinstance(got, ValueError)
        assert str(got) == "the model failed"
    assert isinstance(RESULTS[("first question",)], np.ndarray)
    np.testing.assert_array_equal(batcher.embed(["after"]), FakeEmbedder().embed(["after"]))


def test_a_lone_question_does_not_wait_for_the_window() -> None:
    inner = RecordingEmbedder()
    batcher = MicroBatcher(inner, window=HOUR, max_texts=16, slots=1)
    threads = run_in_threads(batcher, [["alone"]])
    threads[0].join(timeout=60)  # an hour's window would keep it far longer
    assert not threads[0].is_alive()
    assert inner.calls == [["alone"]]


def test_questions_arriving_while_the_server_is_busy_wait_for_the_window_or_max() -> None:
    """Slots are free (2) but one pass runs: a newcomer waits, with an hour's window, until
    max_texts have queued, and they go together."""
    inner = RecordingEmbedder(hold_first=True)
    batcher = MicroBatcher(inner, window=HOUR, max_texts=3, slots=2)
    first = run_in_threads(batcher, [["first question"]])
    inner.holding.wait()
    threads = run_in_threads(batcher, [["a"], ["b"]])
    wait_until(lambda: batcher.queued == 2)
    threads += run_in_threads(batcher, [["c"]])
    for thread in threads:
        thread.join()
    assert sorted(map(sorted, inner.calls[1:])) == [["a", "b", "c"]]
    inner.release.set()
    first[0].join()


def test_big_calls_and_sentences_go_straight_through() -> None:
    inner = RecordingEmbedder()
    batcher = MicroBatcher(inner, window=HOUR, max_texts=2, slots=1)
    texts = ["one", "two", "three"]
    np.testing.assert_array_equal(batcher.embed(texts), FakeEmbedder().embed(texts))
    batcher.embed_sentences(["one two"], [[(0, 3)]])
    assert inner.calls == [texts, ["one two"]]
    assert batcher.stats.passes == 0
    assert (batcher.name, batcher.dimension, batcher.max_tokens) == ("fake-bag-of-words", 64, 40)
    assert batcher.count_tokens("a b c") == 3


def test_after_close_calls_run_on_their_own() -> None:
    inner = RecordingEmbedder()
    batcher = MicroBatcher(inner, window=HOUR, max_texts=16, slots=1)
    batcher.close()
    batcher.embed(["a question"])
    assert batcher.stats.passes == 0
    assert inner.calls == [["a question"]]


def test_the_settings_turn_it_on_and_off() -> None:
    inner = FakeEmbedder()
    assert micro_batched(inner, Settings(micro_batching=False), slots=2) is inner
    assert micro_batched(inner, Settings(), slots=2) is inner  # off by default
    batcher = micro_batched(inner, Settings(micro_batching=True, micro_batch_max=4), slots=2)
    assert isinstance(batcher, MicroBatcher)
    assert batcher.inner is inner


@pytest.mark.parametrize(
    ("lengths", "passes"),
    [
        ([12], [[0]]),
        ([12, 12, 13, 11], [[3, 0, 1, 2]]),
        ([10, 60, 11], [[0, 2], [1]]),  # one long text would pad the short ones to 60
        ([30, 10, 31, 11, 12], [[1, 3, 4], [0, 2]]),
        ([5, 9], [[0, 1]]),  # padding 4 tokens costs less than a second pass
    ],
)
def test_passes_by_length_groups_like_lengths(lengths: list[int], passes: list[list[int]]) -> None:
    assert passes_by_length(lengths) == passes


@pytest.mark.slow
def test_batched_vectors_are_the_models_single_ones(real_embedder: Embedder) -> None:
    """Through the real model: questions of unlike lengths batched (padded) give the vectors
    each gives alone, within float tolerance."""

    questions = [
        ["What cold noodle dish is Hamhung known for?"],
        ["Where is Hamhung?"],
        ["Which fertilizer complex is in Hamhung, and what does it make?"],
        ["What do people eat for breakfast in Algeria?", "Hamhung"],
        ["How have sanctions hurt Hamhung's chemical industry over the last twenty years?"],
    ]
    inner = RecordingEmbedder(hold_first=True, inner=real_embedder)
    batcher = held_batch(inner, questions)
    assert batcher.stats.calls == len(questions) + 1
    assert batcher.stats.passes == 2  # the held one, then all the others together
    assert max(map(len, inner.calls)) > 1  # and some of them in one forward pass
    for texts in questions:
        got = RESULTS[tuple(texts)]
        assert isinstance(got, np.ndarray)
        alone = np.concatenate([real_embedder.embed([text]) for text in texts])
        assert np.abs(got - alone).max() < 1e-5
