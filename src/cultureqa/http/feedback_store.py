"""The feedback store: readers' thumbs up and down, appended to a JSON Lines file the owner can
read (POST /feedback, feedback.py, writes to it)."""

from __future__ import annotations

import json
import threading
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from cultureqa.errors import FeedbackError

Rating = Literal["up", "down"]


@dataclass(frozen=True)
class Feedback:
    """One reader's verdict on one answer."""

    rating: Rating
    question: str
    passage_id: str | None = None  # the passage shown as the answer
    article_id: str | None = None
    index_version: str | None = None
    collection: str | None = None
    origin: str | None = None  # the site the widget was embedded in, from the Origin header


class FeedbackStore:
    """Appends one JSON object per line: `{"at": ..., "rating": "up", "question": ...}`.

    Appends from the server's threads are serialised by a lock, so lines never interleave.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def append(self, feedback: Feedback) -> dict[str, object]:
        record: dict[str, object] = {
            "at": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
            **asdict(feedback),
        }
        line = json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n"
        try:
            with self._lock:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                with self.path.open("a", encoding="utf-8") as handle:
                    handle.write(line)
        except OSError as exc:
            raise FeedbackError(
                f"could not store feedback in {self.path}: {exc.strerror or exc}",
                hint="check CULTUREQA_FEEDBACK_PATH and its directory's permissions",
            ) from exc
        return record

    def read(self) -> list[dict[str, object]]:
        """Every record so far, oldest first (an absent file is no feedback yet)."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        return [json.loads(line) for line in text.splitlines() if line.strip()]
