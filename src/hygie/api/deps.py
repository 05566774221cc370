"""What every API route depends on: the database, the clock, the client's address, and the
authenticated caller — from a bearer token, or from the session cookie (with the CSRF
header on state-changing requests).

Routes declare what they do through the dependency they take, never by checking anything
themselves: ``Reader`` (read), ``Writer`` (a change: a token with write scope, or a
session and its CSRF token), ``SessionReader`` / ``SessionWriter`` (managing the session
itself or minting tokens: a signed-in session only, never a token). A route that takes
none of them is public; tests/api keep the list of those (sign-in only).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Path, Request

from hygie.auth.callers import Caller, Client, from_bearer, from_cookie
from hygie.auth.errors import TOKEN_INVALID, AuthenticationFailed
from hygie.auth.sessions import COOKIE
from hygie.db import Database
from hygie.kit import clock

HOW = "api"
COOKIE_NAME = str(COOKIE["key"])
CSRF_HEADER = "X-CSRF-Token"
NOT_SIGNED_IN = "sign in first (session cookie) or send an API token (Authorization: Bearer)"
SESSION_ONLY = "sign in first: API tokens cannot manage sessions or issue tokens"
# Ids are 32-bit integers in the database: anything larger is refused at the door, before a
# query could overflow.
MAX_ID = 2**31 - 1


# The dependencies below are coroutines although they do not wait for anything: a plain
# function dependency runs in the thread pool, a hop that costs more than what they do.
async def database(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


async def now() -> datetime:
    """The request's time (tests override this dependency to move the clock)."""
    return clock.now()


async def client(request: Request) -> Client:
    host = request.client.host if request.client is not None else None
    return Client.of(host, request.headers.get("user-agent"))


Db = Annotated[Database, Depends(database)]
Now = Annotated[datetime, Depends(now)]
From = Annotated[Client, Depends(client)]


def _authenticator(*, operation: str, session_only: bool) -> Callable[..., Caller]:
    def authenticate(request: Request, db: Db, at: Now, origin: From) -> Caller:
        authorization = request.headers.get("authorization")
        if authorization is not None:
            if session_only:
                raise AuthenticationFailed(SESSION_ONLY)
            scheme, _, secret = authorization.partition(" ")
            if scheme.lower() != "bearer" or not secret.strip():
                raise AuthenticationFailed(TOKEN_INVALID)
            return from_bearer(
                db, secret.strip(), operation=operation, client=origin, now=at, how=HOW
            )
        cookie = request.cookies.get(COOKIE_NAME)
        if not cookie:
            raise AuthenticationFailed(NOT_SIGNED_IN)
        return from_cookie(
            db, cookie, csrf_token=request.headers.get(CSRF_HEADER), needs_csrf=operation == "write",
            client=origin, now=at, how=HOW, request_line=f"{request.method} {request.url.path}",
        )  # fmt: skip

    return authenticate


_read = _authenticator(operation="read", session_only=False)
_write = _authenticator(operation="write", session_only=False)
_session_read = _authenticator(operation="read", session_only=True)
_session_write = _authenticator(operation="write", session_only=True)
Reader = Annotated[Caller, Depends(_read)]
Writer = Annotated[Caller, Depends(_write)]
SessionReader = Annotated[Caller, Depends(_session_read)]
SessionWriter = Annotated[Caller, Depends(_session_write)]

# What each kind of caller may present, as OpenAPI security requirements (alternatives;
# the schemes inside one requirement go together): see api/openapi.py.
CREDENTIALS: dict[Callable[..., Caller], list[dict[str, list[str]]]] = {
    _read: [{"bearerToken": []}, {"sessionCookie": []}],
    _write: [{"bearerToken": []}, {"sessionCookie": [], "csrfToken": []}],
    _session_read: [{"sessionCookie": []}],
    _session_write: [{"sessionCookie": [], "csrfToken": []}],
}


def id_param(what: str) -> object:
    """A path parameter holding a database id (1 to 2**31 - 1)."""
    return Path(ge=1, le=MAX_ID, description=f"the {what}'s id")


PatientId = Annotated[int, id_param("patient")]
GrantId = Annotated[int, id_param("break-the-glass grant")]
SessionId = Annotated[int, id_param("session")]
TokenId = Annotated[int, id_param("token")]
