"""A server stand-in for the kill -9 test: migrate, then record asks and feedback as fast as it
can until killed. `python -m tests.store.child_writer URL`."""

from __future__ import annotations

import sys

from cultureqa.store.database import make_engine
from cultureqa.store.migrate import upgrade_database
from cultureqa.store.records import FeedbackRecord, new_id
from tests.store.helpers import an_ask, open_log


def main(url: str) -> None:
    engine = make_engine(url)
    upgrade_database(engine)
    log = open_log(engine)
    print("ready", flush=True)
    while True:
        conversation = new_id()
        ask = an_ask(conversation_id=conversation)
        log.record_ask(ask)
        log.record_feedback(
            FeedbackRecord(rating="up", ask_id=ask.id, conversation_id=conversation)
        )
        log.flush(timeout=1.0)  # a steady stream of small transactions, like a server's


if __name__ == "__main__":
    main(sys.argv[1])
