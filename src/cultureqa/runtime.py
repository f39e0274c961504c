"""CPU discipline: how many threads torch and FAISS (OpenMP) use, and how many asks compute at
once, so that concurrent requests on a few cores do not fight over them.

Serving: each ask runs single-threaded (1 torch thread, 1 FAISS thread) and as many asks run
side by side as there are cores for this process (cores / workers); micro-batched, as many
forward passes of the model run side by side, each shared by the questions that arrived
together, and more asks are let in to share them. One ask at a time on all
cores would be no faster per ask for a short question, and several asks each wanting every core
would slow one another down by far more than their share. Ingest: every core for one big batch.
Settings override each number.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from dataclasses import dataclass

from cultureqa.settings import Settings

log = logging.getLogger("cultureqa")


@dataclass(frozen=True)
class ThreadPlan:
    torch_threads: int
    faiss_threads: int
    concurrent_asks: int
    model_passes: int = 1  # forward passes of the model at once, when asks are micro-batched


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity, which containers narrow), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def serving_plan(settings: Settings, cores: int | None = None) -> ThreadPlan:
    share = max(1, (cores or available_cores()) // settings.workers)
    # Micro-batched, an ask waiting for its forward pass holds no core: as many asks as fit in
    # one pass are let in, so that they can share it, and a pass runs on each core. (One pass
    # at a time on 2 cores makes larger batches, 3.7 questions against 1.9 at 8 clients, but
    # the model then has one core: 8-23% fewer answers a second, benchmarks/batching.py.)
    batched = max(share, settings.micro_batch_max) if settings.micro_batching else share
    return ThreadPlan(
        torch_threads=settings.torch_threads or 1,
        faiss_threads=settings.faiss_threads or 1,
        concurrent_asks=settings.max_concurrent_asks or batched,
        model_passes=share,
    )


def ingest_plan(settings: Settings, cores: int | None = None) -> ThreadPlan:
    every = cores or available_cores()
    return ThreadPlan(
        torch_threads=settings.torch_threads or every,
        faiss_threads=settings.faiss_threads or every,
        concurrent_asks=1,
    )


def apply_threads(plan: ThreadPlan) -> None:
    """Set FAISS's thread count for this process, numpy's BLAS's (the same number), and
    torch's if torch is loaded (all process-wide). The model's own threads go to
    load_embedder, so that the ONNX backend never has to import torch.

    numpy's OpenBLAS: an answer multiplies the question by its candidates' sentence vectors,
    and after each product OpenBLAS's second thread spins, waiting for more work, on the core
    the next ask needs. Capped at one thread while serving (Factbook index, alternating runs
    of benchmarks/speed.py: HTTP p50 at 1 client 1.3-2.9 ms lower, p99 20-24 against 37-39 ms;
    answers a second at 8 clients within noise; docs/benchmarks.md).
    """
    import faiss

    faiss.omp_set_num_threads(plan.faiss_threads)
    _limit_blas(plan.faiss_threads)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(plan.torch_threads)
    log.debug("threads: torch %d, faiss %d", plan.torch_threads, plan.faiss_threads)


_blas_lock = threading.Lock()
_blas_threads: int | None = None


def _limit_blas(threads: int) -> None:
    """threadpoolctl's limit, once per process and number: the ask threads each apply the
    plan as they start, and reading the loaded libraries again each time would be waste."""
    global _blas_threads
    with _blas_lock:
        if _blas_threads == threads:
            return
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=threads, user_api="blas")
        _blas_threads = threads


def configure_logging() -> None:
    """Our messages (and the JSON request lines) at INFO on stderr, the libraries' chatter
    (faiss, transformers) only at WARNING.

    Idempotent: every `cultureqa` command calls it, and so does each `serve --workers` process,
    which starts fresh and would otherwise log nothing of ours.
    """
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(level=logging.WARNING, format="%(message)s", stream=sys.stderr)
    logging.getLogger("cultureqa").setLevel(logging.INFO)
