"""LTI 1.3 as a tool: Canvas, Moodle and other platforms launch the chat for a course, with a
signed statement of who, in which course, in which role. Domain code only (no web framework);
http/lti.py is the browser's routes, http/lti_admin.py the owner's.

    claims.py      the claim names and values of LTI 1.3 Core and Deep Linking 2.0
    platforms.py   the platforms the owner registered (issuer, client id, URLs, deployments)
    keys.py        the tool's own RSA keys: made, rotated, published as a JWKS
    logins.py      OIDC login initiation: a state and a single-use nonce per login
    launch.py      the id_token's checks (signature against the platform's JWKS, claims)
    sessions.py    the short-lived token the launched page carries instead of a cookie
    courses.py     which course of which platform asks which collection
    deep_linking.py  the signed LtiDeepLinkingResponse that places the chat in a course
    canvas.py      the tool's configuration as a Canvas developer key reads it
    tool.py        LtiTool: the one object the server holds, tying these together;
                   the state's binding for the platform's client-side storage

JOSE is PyJWT's (with cryptography): no signature code here. An LTI user is kept only as a
salted hash of (issuer, sub); names and e-mails in the id_token are never read.
"""

from __future__ import annotations

from cultureqa.lti.errors import LaunchRefusedError
from cultureqa.lti.tool import LtiTool

__all__ = ["LaunchRefusedError", "LtiTool"]
