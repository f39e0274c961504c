"""Each question-log mode: what is in the tables, and what is not."""

from __future__ import annotations

from sqlalchemy import Engine

from cultureqa.store import schema
from cultureqa.store.privacy import PrivacyPolicy, client_hash
from cultureqa.store.question_log import QuestionLog
from cultureqa.store.records import FeedbackRecord, new_id
from cultureqa.store.writes import SALT_KEY
from tests.store.helpers import CLIENT, an_ask, every_value, open_log, rows


def log_one_of_each(log: QuestionLog, conversation: str) -> None:
    ask = an_ask(conversation_id=conversation)
    log.record_ask(ask)
    log.record_ask(an_ask(conversation_id=conversation, question="Who won?", answered=False))
    log.record_feedback(
        FeedbackRecord(
            rating="down",
            question="Who won?",
            ask_id=ask.id,
            conversation_id=conversation,
            comment="wrong town",
            collection="default",
            passage_id="hamhung-culture#food",
        )
    )
    assert log.flush()
    log.close()


def no_address_anywhere(engine: Engine) -> bool:
    return not any(CLIENT in str(value) for value in every_value(engine))


def test_off_keeps_counts_and_the_verdict_but_no_question(engine: Engine) -> None:
    log_one_of_each(open_log(engine, "off"), new_id())

    assert rows(engine, schema.asks) == []
    assert rows(engine, schema.conversations) == []
    [counts] = rows(engine, schema.daily_counts)
    assert (counts["asks"], counts["unanswered"]) == (2, 1)
    [verdict] = rows(engine, schema.feedback)
    assert verdict["rating"] == "down"
    assert verdict["passage_id"] == "hamhung-culture#food"
    assert (verdict["question"], verdict["comment"], verdict["conversation_id"]) == (None,) * 3
    assert verdict["ask_id"] is None  # no ask row to point at
    assert no_address_anywhere(engine)


def test_anonymous_keeps_questions_without_any_client_identifier(engine: Engine) -> None:
    conversation = new_id()
    log_one_of_each(open_log(engine, "anonymous"), conversation)

    asks = rows(engine, schema.asks)
    assert sorted(ask["question"] for ask in asks) == ["What is Hamhung known for?", "Who won?"]
    assert [ask["client_hash"] for ask in asks] == [None, None]
    answered = next(ask for ask in asks if ask["answered"])
    assert answered["cited_passage_ids"] == ["hamhung-culture#food", "hamhung-culture#history"]
    assert answered["confidence"] == 0.75
    assert [c["id"] for c in rows(engine, schema.conversations)] == [conversation]
    [verdict] = rows(engine, schema.feedback)
    assert (verdict["comment"], verdict["ask_id"]) == ("wrong town", answered["id"])
    assert no_address_anywhere(engine)
    assert SALT_KEY not in {row["key"] for row in rows(engine, schema.store_meta)}


def test_full_adds_a_salted_hash_of_the_client_and_never_the_address(engine: Engine) -> None:
    log_one_of_each(open_log(engine, "full"), new_id())

    salt = {row["key"]: row["value"] for row in rows(engine, schema.store_meta)}[SALT_KEY]
    hashes = {ask["client_hash"] for ask in rows(engine, schema.asks)}
    assert hashes == {client_hash(salt, CLIENT)}
    assert len(salt) == 64
    assert no_address_anywhere(engine)


def test_full_with_a_configured_salt_uses_it_and_keeps_none_in_the_database(
    engine: Engine,
) -> None:
    salt = "s" * 40
    log = open_log(engine, "full", salt=salt)
    log.record_ask(an_ask())
    assert log.flush()
    log.close()

    assert [ask["client_hash"] for ask in rows(engine, schema.asks)] == [client_hash(salt, CLIENT)]
    assert rows(engine, schema.store_meta) == []


def test_the_database_salt_is_made_once_and_shared(engine: Engine) -> None:
    for _ in range(2):  # two servers on one database, one after the other
        log = open_log(engine, "full")
        log.record_ask(an_ask())
        assert log.flush()
        log.close()

    assert len({ask["client_hash"] for ask in rows(engine, schema.asks)}) == 1


def test_a_collection_may_have_its_own_mode(engine: Engine) -> None:
    policy = PrivacyPolicy(default="full", by_collection={"quiet": "off"})
    log = QuestionLog(engine, policy)
    log.record_ask(an_ask(collection="quiet"))
    log.record_ask(an_ask(collection="default"))
    assert log.flush()
    log.close()

    [logged] = rows(engine, schema.asks)
    assert (logged["collection"], logged["client_hash"] is not None) == ("default", True)
    counts = {row["collection"]: row["asks"] for row in rows(engine, schema.daily_counts)}
    assert counts == {"quiet": 1, "default": 1}
