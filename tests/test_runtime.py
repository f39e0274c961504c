"""CPU discipline: thread counts for serving and ingest, from settings or from the cores."""

from __future__ import annotations

import pytest

from cultureqa.runtime import ThreadPlan, available_cores, ingest_plan, serving_plan
from cultureqa.settings import Settings


@pytest.mark.parametrize(
    ("overrides", "cores", "plan"),
    [
        # Micro-batched (the default): a batch's worth of asks at once, passes on half the cores.
        ({}, 2, ThreadPlan(1, 1, 16, 1)),
        ({}, 32, ThreadPlan(1, 1, 32, 16)),
        ({"micro_batch_max": 4, "workers": 2}, 8, ThreadPlan(1, 1, 4, 2)),
        ({"workers": 2}, 2, ThreadPlan(1, 1, 16, 1)),
        # Without: an ask per core.
        ({"micro_batching": False}, 2, ThreadPlan(1, 1, 2, 1)),
        ({"micro_batching": False}, 8, ThreadPlan(1, 1, 8, 4)),
        ({"micro_batching": False, "workers": 2}, 2, ThreadPlan(1, 1, 1, 1)),
        ({"micro_batching": False, "workers": 4}, 2, ThreadPlan(1, 1, 1, 1)),
        ({"micro_batching": False, "workers": 2}, 8, ThreadPlan(1, 1, 4, 2)),
        (
            {"max_concurrent_asks": 3, "torch_threads": 2, "faiss_threads": 2},
            2,
            ThreadPlan(2, 2, 3, 1),
        ),
    ],
)
def test_serving_plan(overrides: dict[str, object], cores: int, plan: ThreadPlan) -> None:
    assert serving_plan(Settings(**overrides), cores) == plan  # type: ignore[arg-type]


def test_ingest_uses_every_core_unless_told() -> None:
    assert ingest_plan(Settings(), 4) == ThreadPlan(4, 4, 1)
    assert ingest_plan(Settings(torch_threads=2), 4) == ThreadPlan(2, 4, 1)


def test_available_cores_is_at_least_one() -> None:
    assert available_cores() >= 1


def test_apply_threads_sets_torch_and_faiss() -> None:
    import faiss
    import torch

    from cultureqa.runtime import apply_threads

    before = (torch.get_num_threads(), faiss.omp_get_max_threads())
    try:
        apply_threads(ThreadPlan(1, 1, 1))
        assert (torch.get_num_threads(), faiss.omp_get_max_threads()) == (1, 1)
    finally:
        apply_threads(ThreadPlan(before[0], before[1], 1))
