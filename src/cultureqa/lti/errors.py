"""The errors of the LTI layer (see cultureqa.errors for the tree they hang from)."""

from __future__ import annotations

from cultureqa.errors import CultureQAError


class LaunchRefusedError(CultureQAError):
    """A login or launch the tool will not accept: an unknown platform, a bad signature, an
    expired or replayed token... The message says which, for the error page; nobody is signed
    in."""

    status = 401
    code = "lti_launch_refused"
