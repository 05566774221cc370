"""Who is at the browser: the dependencies every page takes.

``Viewer`` is a signed-in session (reading a page); ``Editor`` is a signed-in session whose
form carries the session's CSRF token in its hidden ``csrf`` field (a change). Without a
live session the browser is sent to sign-in and comes back to the page afterwards
(``SignInNeeded``, answered by :mod:`hygie.web.errors`); a form without the right token is
refused (403) and recorded by the session check itself. Pages never check anything else
themselves: the gate decides what the actor may see or do."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from hygie.access.actor import Actor
from hygie.api.deps import COOKIE_NAME, Db, From, Now
from hygie.auth import callers
from hygie.auth.callers import CsrfRefused
from hygie.auth.errors import AuthenticationFailed
from hygie.auth.sessions import make_csrf_token
from hygie.db import Database

HOW = "web"
CSRF_FIELD = "csrf"


class SignInNeeded(Exception):
    """No live session: go to sign-in, then back to ``back``."""

    def __init__(self, back: str) -> None:
        super().__init__(back)
        self.back = back


@dataclass(frozen=True)
class User:
    """A signed-in person at the browser: the caller the gate knows, and what a page needs
    to show (the CSRF token for its forms, the roles for its menu)."""

    caller: callers.Caller
    csrf: str
    db: Database
    now: datetime
    client: callers.Client

    @property
    def actor(self) -> Actor:
        return self.caller.actor

    @property
    def roles(self) -> frozenset[str]:
        return frozenset(str(r) for rs in self.actor.roles.values() for r in rs)


def back_path(request: Request) -> str:
    """Where to come back after sign-in: this page, or for a form the page it was on."""
    if request.method == "GET" and request.headers.get("hx-request") != "true":
        return request.url.path + (f"?{request.url.query}" if request.url.query else "")
    seen = urlsplit(request.headers.get("hx-current-url") or request.headers.get("referer") or "/")
    if seen.netloc and seen.netloc != request.url.netloc:
        return "/"
    return (seen.path or "/") + (f"?{seen.query}" if seen.query else "")


def _user(request: Request, db: Database, at: datetime, origin: callers.Client,
          csrf: str | None, write: bool) -> User:  # fmt: skip
    cookie = request.cookies.get(COOKIE_NAME)
    back = back_path(request)
    if not cookie:
        raise SignInNeeded(back)
    try:
        caller = callers.from_cookie(
            db, cookie, csrf_token=csrf, needs_csrf=write, client=origin, now=at, how=HOW,
            request_line=f"{request.method} {request.url.path}",
        )  # fmt: skip
    except CsrfRefused:
        raise
    except AuthenticationFailed:
        raise SignInNeeded(back) from None
    if caller.web_session is None:  # pragma: no cover - a cookie is always a session
        raise SignInNeeded(back)
    return User(caller, make_csrf_token(caller.web_session), db, at, origin)


def viewer(request: Request, db: Db, at: Now, origin: From) -> User:
    return _user(request, db, at, origin, None, write=False)


async def editor(request: Request, db: Db, at: Now, origin: From) -> User:
    form = await request.form()  # Starlette keeps it: the route's Form fields read it again
    token = form.get(CSRF_FIELD)
    # A form carries the token in its hidden field; an HTMX button outside a form in the
    # header the page's body sets (hx-headers).
    csrf = token if isinstance(token, str) else request.headers.get("x-csrf-token")
    return await run_in_threadpool(_user, request, db, at, origin, csrf, True)


Viewer = Annotated[User, Depends(viewer)]
Editor = Annotated[User, Depends(editor)]
