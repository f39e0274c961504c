"""The feedback store: one JSON object per line, whole lines even from many threads."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from cultureqa.errors import FeedbackError
from cultureqa.http.feedback_store import Feedback, FeedbackStore


def test_appends_records_with_time(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "new" / "feedback.jsonl")
    assert store.read() == []
    store.append(Feedback(rating="up", question="Noodles? «ok»", passage_id="a#b"))
    store.append(Feedback(rating="down", question="Why?", origin="https://x.example"))
    records = store.read()
    assert [r["rating"] for r in records] == ["up", "down"]
    assert records[0]["question"] == "Noodles? «ok»"
    assert records[0]["passage_id"] == "a#b"
    assert records[1]["origin"] == "https://x.example"
    assert all(str(r["at"]).endswith("Z") for r in records)
    # Readable as plain text by the owner: UTF-8, not escaped.
    assert "«ok»" in store.path.read_text(encoding="utf-8")


def test_concurrent_appends_never_interleave(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "feedback.jsonl")

    def rate(n: int) -> None:
        for i in range(50):
            store.append(Feedback(rating="up", question=f"{n}-{i} " + "x" * 2000))

    threads = [threading.Thread(target=rate, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    lines = store.path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 400
    assert len({json.loads(line)["question"] for line in lines}) == 400


def test_unwritable_store_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "feedback.jsonl").mkdir()
    with pytest.raises(FeedbackError, match="could not store feedback") as error:
        FeedbackStore(tmp_path / "feedback.jsonl").append(Feedback(rating="up", question="q"))
    assert error.value.status == 500
    assert error.value.hint is not None
