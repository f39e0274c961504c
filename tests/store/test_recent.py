"""A conversation's history includes what this process recorded and has not written yet, never
twice, and forgets what erasure and retention remove."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from cultureqa.store.recent import RecentTurns
from cultureqa.store.records import new_id
from tests.store.helpers import an_ask, open_log, outage, wait_until


def test_a_follow_up_sees_the_question_before_it_even_while_the_database_is_down(
    engine: Engine,
) -> None:
    conversation = new_id()
    log = open_log(engine, max_backoff=0.1)
    log.record_ask(an_ask(conversation_id=conversation, question="What is Hamhung known for?"))
    assert log.flush()

    with outage(engine):
        log.record_ask(an_ask(conversation_id=conversation, question="And the food?"))
        wait_until(lambda: not log.stats().database_up)
        during = log.conversation_history(conversation)
    assert log.flush(30)
    after = log.conversation_history(conversation)
    log.close()
    elsewhere = open_log(engine)  # another process: the database only
    stored = elsewhere.conversation_history(conversation)
    elsewhere.close()

    # During the outage the database is unreadable too: memory has both turns.
    assert [turn.question for turn in during] == ["What is Hamhung known for?", "And the food?"]
    assert [turn.question for turn in after] == [turn.question for turn in during]
    assert [turn.ask_id for turn in stored] == [turn.ask_id for turn in after]


def test_off_keeps_no_turn_in_memory_either(engine: Engine) -> None:
    conversation = new_id()
    log = open_log(engine, "off")
    log.record_ask(an_ask(conversation_id=conversation))

    assert log.conversation_history(conversation) == []
    log.close()


def test_erasure_and_retention_forget_the_turns_in_memory(engine: Engine) -> None:
    erased, old = new_id(), new_id()
    log = open_log(engine)
    log.record_ask(an_ask(conversation_id=erased))
    log.record_ask(an_ask(conversation_id=old, asked_at=datetime.now(UTC) - timedelta(days=200)))

    log.erase_conversation(erased)
    log.purge_older_than(180)

    assert log.conversation_history(erased) == []
    assert log.conversation_history(old) == []
    log.close()


def test_memory_keeps_the_latest_conversations_and_their_last_turns() -> None:
    recent = RecentTurns(conversations=2, turns=3)
    first, second, third = new_id(), new_id(), new_id()
    for question in "abcd":
        recent.add(an_ask(conversation_id=first, question=question))
    recent.add(an_ask(conversation_id=second))
    recent.add(an_ask(conversation_id=first, question="e"))  # first is the most recent again
    recent.add(an_ask(conversation_id=third))  # evicts second, the least recent

    assert [turn.question for turn in recent.turns(first)] == ["c", "d", "e"]
    assert recent.turns(second) == []
    assert len(recent.turns(third)) == 1
