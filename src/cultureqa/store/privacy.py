"""What the question log keeps, by mode, and the salted hash that stands for a client in "full"
mode. Applied when a record is written, so the database never sees what the mode leaves out.

    off        no question and no ask row: the day's counts only (daily_counts); feedback keeps
               its rating and the passage it rates, without the question or a comment
    anonymous  the ask with its question text; no client or user identifier of any kind
    full       as anonymous, plus an HMAC-SHA256 of the client's address under a secret salt

No mode stores an IP address in clear. The conversation id is the widget's random session id,
not the person's: it ties the questions of one conversation together (follow-ups, erasure).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, get_args

QuestionLogMode = Literal["off", "anonymous", "full"]
QUESTION_LOG_MODES: tuple[str, ...] = get_args(QuestionLogMode)

# 32 random bytes, hex: as strong as the HMAC's key can use.
SALT_BYTES = 32


def new_salt() -> str:
    return secrets.token_hex(SALT_BYTES)


@dataclass(frozen=True)
class PrivacyPolicy:
    """The mode of each collection: `default` unless `by_collection` names it."""

    default: QuestionLogMode = "anonymous"
    by_collection: Mapping[str, QuestionLogMode] = field(default_factory=dict)

    def mode_for(self, collection: str | None) -> QuestionLogMode:
        if collection is None:
            return self.default
        return self.by_collection.get(collection, self.default)


def client_hash(salt: str, client_address: str) -> str:
    """A stable pseudonym for a client address: HMAC-SHA256 keyed by the salt, 64 hex digits.
    Without the salt it cannot be reversed by trying every IPv4 address."""
    return hmac.new(salt.encode(), client_address.encode(), hashlib.sha256).hexdigest()
