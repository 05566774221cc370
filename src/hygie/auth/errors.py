"""The errors of authentication. Their messages never say what exactly was wrong."""

from __future__ import annotations

from hygie.errors import HygieError

SIGN_IN_FAILED = "sign-in failed: wrong username, password or code"
SIGN_IN_BLOCKED = (
    "sign-in temporarily blocked after too many failed attempts; "
    "try again in 15 minutes or contact the help desk"
)
SESSION_INVALID = "your session has ended: sign in again"
TOKEN_INVALID = "invalid, expired or revoked token"  # noqa: S105 - a message
TOKEN_SCOPE = "this token does not allow this operation"  # noqa: S105 - a message


class AuthenticationFailed(HygieError):
    """A sign-in, session or token was refused (HTTP 401).

    The refusal's trace (audit event, failure counters) is already in the session: the
    entry point commits it even though the request fails (see ``service.unit_of_work``)."""

    status_code = 401

    def __init__(self, message: str = SIGN_IN_FAILED) -> None:
        super().__init__(message)


class ScopeDenied(AuthenticationFailed):
    """A valid token used for an operation its scope does not allow (HTTP 403)."""

    status_code = 403

    def __init__(self) -> None:
        super().__init__(TOKEN_SCOPE)
