"""Reading grants for article pages in key mode.

In key mode an article page (/articles/<id>) needs a key, so that whole articles are no more
public than the answers quoting them. But a citation is a link a student follows in a new tab,
and a followed link sends no Authorization header: the widget's key or LTI course session
cannot go with it, and the page would be a 401. So an answer given to a key or a course session
links its citations with a grant: an expiring HMAC over the collection and the article, which
opens that one article's page, and nothing else, until it expires.

The HMAC key is derived from the server's API and collection keys: every replica with the same
settings accepts every other's grants, and changing the keys ends them all."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable, Iterable
from urllib.parse import quote

# Long enough for a class period's reading; a grant is re-issued with every answer.
GRANT_SECONDS = 2 * 3600
GRANT_PARAMETER = "grant"


class ArticleGrants:
    """Issues and checks reading grants; `secret` is the HMAC key."""

    def __init__(
        self,
        secret: bytes,
        seconds: int = GRANT_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._secret = secret
        self._seconds = seconds
        self._clock = clock

    @classmethod
    def from_keys(cls, keys: Iterable[bytes]) -> ArticleGrants:
        material = b"\0".join(sorted(keys))
        return cls(hashlib.sha256(b"cultureqa article grants\0" + material).digest())

    def _mac(self, collection: str, article_id: str, expires: int) -> str:
        message = f"{collection}\n{article_id}\n{expires}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()[:32]

    def issue(self, collection: str, article_id: str) -> str:
        expires = int(self._clock()) + self._seconds
        return f"{expires}.{self._mac(collection, article_id, expires)}"

    def valid(self, grant: str | None, collection: str, article_id: str) -> bool:
        if not grant:
            return False
        expires_text, _, mac = grant.partition(".")
        if not expires_text.isdigit() or len(expires_text) > 12:
            return False
        expires = int(expires_text)
        if expires < self._clock():
            return False
        return hmac.compare_digest(mac, self._mac(collection, article_id, expires))

    def page_with_grant(self, page: str, collection: str, article_id: str) -> str:
        """`page` (/articles/<id>[?collection=C][#anchor]) with a grant for its article."""
        path, hash_mark, anchor = page.partition("#")
        separator = "&" if "?" in path else "?"
        grant = quote(self.issue(collection, article_id), safe="")
        return f"{path}{separator}{GRANT_PARAMETER}={grant}{hash_mark}{anchor}"
