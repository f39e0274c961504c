"""conversation_history without the database: this process's recent turns alone, what /ask
reads while the writer sees the database down."""

from __future__ import annotations

from sqlalchemy import Engine

from tests.store.helpers import an_ask, open_log


def test_history_from_memory_alone(engine: Engine) -> None:
    with open_log(engine) as first:
        first.record_ask(an_ask(conversation_id="c" * 22))
        assert first.flush()
    with open_log(engine) as second:  # another process: nothing of it in memory
        second.record_ask(an_ask(conversation_id="c" * 22, question="And there?"))

        stored = second.conversation_history("c" * 22)
        recent = second.conversation_history("c" * 22, from_database=False)

    assert [turn.question for turn in stored] == ["What is Hamhung known for?", "And there?"]
    assert [turn.question for turn in recent] == ["And there?"]
