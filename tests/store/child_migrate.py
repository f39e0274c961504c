"""A start-up migration slowed down (every statement waits) for the kill -9 test:
`python -m tests.store.child_migrate URL`."""

from __future__ import annotations

import sys
import time
from typing import Any

from sqlalchemy import event

from cultureqa.store.database import make_engine
from cultureqa.store.migrate import upgrade_database

STATEMENT_PAUSE_S = 0.1


def main(url: str) -> None:
    engine = make_engine(url)

    @event.listens_for(engine, "after_cursor_execute")
    def _slowly(*_args: Any) -> None:
        time.sleep(STATEMENT_PAUSE_S)

    print("migrating", flush=True)
    upgrade_database(engine)
    print("done", flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
