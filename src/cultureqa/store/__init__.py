"""The question log: asks, conversations and feedback in a SQL database (SQLite by default,
PostgreSQL for anything shared), written off the request path.

    question_log.py  QuestionLog, the one object a server holds, and open_question_log(settings)
    records.py    what the server hands over: AskRecord, FeedbackRecord; ids; Turn (history)
    writer.py     RecordWriter: a bounded queue and one writer thread; counters for /metrics
    spool.py      each ask's row in a file of the process until written, replayed after a kill
    writes.py     one batch in one transaction, the privacy mode applied to each row
    recent.py     the last turns of recent conversations in memory, for follow-ups at once
    privacy.py    what each question-log mode keeps, and the salted client hash
    maintenance.py  retention purge, erase-by-conversation, the feedback JSONL import, history
    insights.py   the owner's view: per-day counts, content gaps grouped by meaning, most cited,
                  thumbs down; CSV, JSON and text
    database.py   engines for a URL: SQLite tuned for one writer and many readers, psycopg 3
    schema.py     the tables as the newest migration leaves them (SQLAlchemy Core)
    migrate.py    Alembic, run from code: upgrade to head, the current revision
    migrations/   Alembic's env.py and the revisions, shipped in the package

How a server uses it (the calls never wait for the database, except the reads and erasure,
which belong on a worker thread, not the event loop):

    question_log = open_question_log(settings)      # at start-up; close() at shutdown
    conversation = body.conversation_id if body.conversation_id and is_valid_id(
        body.conversation_id) else new_id()
    history = question_log.conversation_history(conversation)   # list[Turn], oldest first
    ask = AskRecord(collection=..., question=..., answered=..., conversation_id=conversation,
                    no_answer_code=..., confidence=..., answer_passage_id=...,
                    cited_passage_ids=(...), index_version=..., latency_ms=...,
                    client_address=client_ip)
    question_log.record_ask(ask)                     # ask.id goes back to the widget
    question_log.record_feedback(FeedbackRecord(rating="down", ask_id=..., ...))
    question_log.stats()                             # LogStats, for /metrics
    question_log.erase_conversation(conversation)    # StoreUnavailableError when down
"""

from __future__ import annotations

from cultureqa.store.privacy import PrivacyPolicy, QuestionLogMode
from cultureqa.store.question_log import QuestionLog, open_question_log, upgrade_from_settings
from cultureqa.store.records import AskRecord, FeedbackRecord, Turn, is_valid_id, new_id
from cultureqa.store.writer import LogStats

__all__ = [
    "AskRecord",
    "FeedbackRecord",
    "LogStats",
    "PrivacyPolicy",
    "QuestionLog",
    "QuestionLogMode",
    "Turn",
    "is_valid_id",
    "new_id",
    "open_question_log",
    "upgrade_from_settings",
]
