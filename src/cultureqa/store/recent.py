"""The last turns of the conversations this process answered, in memory, so that a follow-up
asked before the writer has written the question before it (a few milliseconds, or the whole
of an outage) still sees it. Bounded: the most recently active conversations only, and only
their last turns. The database stays the record; this is a cache in front of it."""

from __future__ import annotations

import threading
from collections import OrderedDict, deque
from datetime import datetime

from cultureqa.store.records import AskRecord, Turn

MAX_CONVERSATIONS = 2000
MAX_TURNS = 10


class RecentTurns:
    """conversation id → its last MAX_TURNS turns, for the MAX_CONVERSATIONS conversations
    asked in most recently. Thread-safe."""

    def __init__(self, conversations: int = MAX_CONVERSATIONS, turns: int = MAX_TURNS) -> None:
        self._conversations = conversations
        self._turns = turns
        self._by_conversation: OrderedDict[str, deque[Turn]] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, ask: AskRecord) -> None:
        if ask.conversation_id is None:
            return
        turn = turn_of(ask)
        with self._lock:
            turns = self._by_conversation.pop(ask.conversation_id, None)
            if turns is None:
                turns = deque(maxlen=self._turns)
            turns.append(turn)
            self._by_conversation[ask.conversation_id] = turns  # now the most recent
            while len(self._by_conversation) > self._conversations:
                self._by_conversation.popitem(last=False)

    def turns(self, conversation_id: str) -> list[Turn]:
        with self._lock:
            return list(self._by_conversation.get(conversation_id, ()))

    def forget(self, conversation_id: str) -> None:
        with self._lock:
            self._by_conversation.pop(conversation_id, None)

    def forget_older_than(self, cutoff: datetime) -> None:
        """Drop turns asked before `cutoff` (the retention purge's)."""
        with self._lock:
            for conversation_id in list(self._by_conversation):
                turns = self._by_conversation[conversation_id]
                kept = [turn for turn in turns if turn.asked_at >= cutoff]
                if kept:
                    self._by_conversation[conversation_id] = deque(kept, maxlen=self._turns)
                else:
                    del self._by_conversation[conversation_id]


def turn_of(ask: AskRecord) -> Turn:
    passage = ask.answer_passage_id
    return Turn(
        question=ask.question,
        article_id=passage.split("#")[0] if passage else None,
        asked_at=ask.asked_at,
        answered=ask.answered,
        ask_id=ask.id,
    )


def merge_turns(stored: list[Turn], recent: list[Turn], limit: int) -> list[Turn]:
    """The stored turns and the recent ones not stored yet, oldest first, the last `limit`."""
    stored_ids = {turn.ask_id for turn in stored}
    merged = stored + [turn for turn in recent if turn.ask_id not in stored_ids]
    merged.sort(key=lambda turn: turn.asked_at)
    return merged[-limit:] if limit > 0 else []
