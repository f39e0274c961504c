"""Processes for the spool's tests, each printing the id of every ask once it is recorded.

python -m tests.store.child_spool write URL SPOOL   record asks as fast as it can, with a
                                                    spool, until killed
python -m tests.store.child_spool hold SPOOL N      spool N asks (no database), print
                                                    "holding", and wait to be killed
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from cultureqa.store.database import make_engine
from cultureqa.store.privacy import PrivacyPolicy
from cultureqa.store.records import new_id
from cultureqa.store.spool import Spool
from tests.store.helpers import an_ask, open_log


def write(url: str, spool: Path) -> None:
    log = open_log(make_engine(url), "full", salt="s" * 32, spool_directory=spool)
    assert log.wait_until_ready()
    print("ready", flush=True)
    while True:
        ask = an_ask(conversation_id=new_id())
        if log.record_ask(ask):
            print(ask.id, flush=True)
        time.sleep(0.001)  # a busy server's pace; the writer keeps asks queued meanwhile


def hold(directory: Path, count: int) -> None:
    spool = Spool(directory, PrivacyPolicy(default="full"), salt="s" * 32).open()
    for _ in range(count):
        ask = an_ask(conversation_id=new_id())
        line = spool.encode(ask)
        assert line is not None
        assert spool.append(line) is not None
        print(ask.id, flush=True)
    print("holding", flush=True)
    while True:
        time.sleep(60)


if __name__ == "__main__":
    if sys.argv[1] == "write":
        write(sys.argv[2], Path(sys.argv[3]))
    else:
        hold(Path(sys.argv[2]), int(sys.argv[3]))
