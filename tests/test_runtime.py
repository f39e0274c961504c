"""CPU discipline: thread counts for serving and ingest, from settings or from the cores."""

from __future__ import annotations

import pytest

from cultureqa.runtime import ThreadPlan, available_cores, ingest_plan, serving_plan
from cultureqa.settings import Settings


@pytest.mark.parametrize(
    ("overrides", "cores", "plan"),
    [
        # By default an ask per core.
        ({}, 2, ThreadPlan(1, 1, 2, 2)),
        ({}, 8, ThreadPlan(1, 1, 8, 8)),
        ({"workers": 2}, 2, ThreadPlan(1, 1, 1, 1)),
        ({"workers": 4}, 2, ThreadPlan(1, 1, 1, 1)),
        ({"workers": 2}, 8, ThreadPlan(1, 1, 4, 4)),
        (
            {"max_concurrent_asks": 3, "torch_threads": 2, "faiss_threads": 2},
            2,
            ThreadPlan(2, 2, 3, 2),
        ),
        # Micro-batched: a batch's worth of asks at once, a pass per core.
        ({"micro_batching": True}, 2, ThreadPlan(1, 1, 16, 2)),
        ({"micro_batching": True}, 32, ThreadPlan(1, 1, 32, 32)),
        ({"micro_batching": True, "micro_batch_max": 4, "workers": 2}, 8, ThreadPlan(1, 1, 4, 4)),
        ({"micro_batching": True, "max_concurrent_asks": 3}, 2, ThreadPlan(1, 1, 3, 2)),
    ],
)
def test_serving_plan(overrides: dict[str, object], cores: int, plan: ThreadPlan) -> None:
    assert serving_plan(Settings(**overrides), cores) == plan  # type: ignore[arg-type]


def test_ingest_uses_every_core_unless_told() -> None:
    assert ingest_plan(Settings(), 4) == ThreadPlan(4, 4, 1)
    assert ingest_plan(Settings(torch_threads=2), 4) == ThreadPlan(2, 4, 1)


def test_available_cores_is_at_least_one() -> None:
    assert available_cores() >= 1


def blas_threads() -> set[int]:
    from threadpoolctl import threadpool_info

    return {pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"}


def test_apply_threads_sets_torch_faiss_and_numpys_blas() -> None:
    import faiss
    import numpy as np
    import torch

    from cultureqa.runtime import apply_threads

    np.ones((2, 2)) @ np.ones((2, 2))  # numpy's OpenBLAS is loaded
    before = (torch.get_num_threads(), faiss.omp_get_max_threads())
    try:
        apply_threads(ThreadPlan(1, 1, 1))
        assert (torch.get_num_threads(), faiss.omp_get_max_threads()) == (1, 1)
        assert blas_threads() == {1}
        apply_threads(ThreadPlan(1, 2, 1))
        assert blas_threads() == {2}
    finally:
        apply_threads(ThreadPlan(before[0], before[1], 1))
