"""The exception tree of cultureqa. Each error carries the HTTP status the API answers with.

    CultureQAError (500)
    ├── InvalidRequestError (422)   a request the service understood but will not answer
    ├── NotFoundError (404)
    │   └── UnknownCollectionError  no collection of that name
    ├── ConflictError (409)         an upload whose article id another file already uses
    ├── UnauthorizedError (401)     no admin key (or, in key mode, no API key) given
    ├── ForbiddenError (403)        a wrong admin or API key, or the admin API is off
    ├── PayloadTooLargeError (413)  a request body over its cap
    ├── BodyTimeoutError (408)      a request body not received within its time
    ├── RateLimitedError (429)      a client over its rate; says when to try again
    ├── OverloadedError (503)       every ask slot busy and the queue full; try again shortly
    ├── LimitsUnavailableError (503) the shared rate limits' Redis is down (fail-closed)
    ├── DeadlineExceededError (504) the question was not answered within its time budget
    ├── CorpusError (400)           an article could not be read or parsed
    ├── ModelError (500)            the embedding model could not be loaded
    ├── FeedbackError (500)         feedback could not be stored
    ├── StoreUnavailableError (503) the question log's database cannot be reached or upgraded
    └── IndexUnavailableError (503) no usable index
        ├── IndexNotFoundError      nothing built yet
        ├── IndexMismatchError      built with another model or format version
        └── IndexCorruptError       files missing, truncated or failing their checksums

Domain code raises these; the API and CLI translate them (status code, exit code, message).
"""

from __future__ import annotations

import math


class CultureQAError(Exception):
    """Base class: a problem cultureqa can explain to whoever asked."""

    status = 500
    code = "internal_error"

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message

    def headers(self) -> dict[str, str]:
        """HTTP headers the answer carries besides the JSON body (e.g. Retry-After)."""
        return {}


class InvalidRequestError(CultureQAError):
    status = 422
    code = "invalid_request"


class NotFoundError(CultureQAError):
    status = 404
    code = "not_found"


class UnknownCollectionError(NotFoundError):
    code = "unknown_collection"


class ConflictError(CultureQAError):
    status = 409
    code = "conflict"


class UnauthorizedError(CultureQAError):
    status = 401
    code = "unauthorized"


class ForbiddenError(CultureQAError):
    status = 403
    code = "forbidden"


class PayloadTooLargeError(CultureQAError):
    status = 413
    code = "payload_too_large"


class BodyTimeoutError(CultureQAError):
    status = 408
    code = "body_timeout"


class RetryLaterError(CultureQAError):
    """An error that says, in a Retry-After header, how many seconds to wait."""

    def __init__(self, message: str, *, retry_after: float, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.retry_after = max(1, math.ceil(retry_after))  # whole seconds, at least 1

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class RateLimitedError(RetryLaterError):
    status = 429
    code = "rate_limited"


class OverloadedError(RetryLaterError):
    status = 503
    code = "overloaded"


class LimitsUnavailableError(RetryLaterError):
    """CULTUREQA_REDIS_FAILURE=fail-closed and Redis cannot be reached: nothing is answered
    that the shared limits cannot count."""

    status = 503
    code = "limits_unavailable"


class DeadlineExceededError(CultureQAError):
    status = 504
    code = "deadline_exceeded"


class CorpusError(CultureQAError):
    status = 400
    code = "corpus_error"


class ModelError(CultureQAError):
    status = 500
    code = "model_error"


class FeedbackError(CultureQAError):
    status = 500
    code = "feedback_error"


class StoreUnavailableError(CultureQAError):
    status = 503
    code = "store_unavailable"


class IndexUnavailableError(CultureQAError):
    status = 503
    code = "index_unavailable"


class IndexNotFoundError(IndexUnavailableError):
    code = "index_not_found"


class IndexMismatchError(IndexUnavailableError):
    code = "index_mismatch"


class IndexCorruptError(IndexUnavailableError):
    code = "index_corrupt"
