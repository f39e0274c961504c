"""JSON for the parsers: every way a file can fail to be JSON is one CorpusError."""

from __future__ import annotations

import json
from typing import Any

from cultureqa.errors import CorpusError


def load_json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:  # json.JSONDecodeError is a ValueError
        raise CorpusError(f"not JSON: {exc}") from exc
    except RecursionError as exc:  # "[[[[..." deeper than Python's stack
        raise CorpusError("JSON nested too deeply") from exc
