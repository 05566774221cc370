"""Signing in and out, and the home page.

The session is the API's (``hygie_session`` cookie: Secure, HttpOnly, SameSite=Strict);
a form that changes something carries the session's CSRF token in a hidden field. After
a sign-in the browser goes back to the page it asked for (``next``, a path of this site
only)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from hygie.api.deps import COOKIE_NAME, Db, From, Now
from hygie.api.session_routes import clear_session_cookie, set_session_cookie
from hygie.auth import callers, self_service
from hygie.auth.errors import SIGN_IN_BLOCKED, AuthenticationFailed
from hygie.auth.sessions import make_csrf_token
from hygie.web.render import page

router = APIRouter(include_in_schema=False)
HOW = "web"


def _next(value: str | None) -> str:
    """A path of this site to go back to (never another site: no scheme, no //)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


def _to_sign_in(request: Request) -> RedirectResponse:
    back = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(back, safe='/')}", status_code=303)


def _caller(request: Request, db: Db, at: Now, origin: From, *, csrf: str | None = None,
            write: bool = False) -> callers.Caller | None:  # fmt: skip
    cookie = request.cookies.get(COOKIE_NAME)
    if not cookie:
        return None
    try:
        return callers.from_cookie(
            db, cookie, csrf_token=csrf, needs_csrf=write, client=origin, now=at, how=HOW,
            request_line=f"{request.method} {request.url.path}",
        )  # fmt: skip
    except AuthenticationFailed:
        return None


@router.get("/login")
def sign_in_page(next: str | None = None) -> Response:
    return page("login.html", next=_next(next), username="", error=None)


@router.post("/login")
def sign_in(
    db: Db,
    at: Now,
    origin: From,
    username: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    totp: Annotated[str, Form(max_length=16)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    back = _next(next)
    try:
        done = callers.sign_in(
            db, username=username.strip(), password=password, totp_code=totp.strip() or None,
            recovery_code=None, enrol=False, client=origin, now=at, how=HOW,
        )  # fmt: skip
    except AuthenticationFailed as refused:
        # The message never says which of the three was wrong; what was typed stays.
        error = "blocked" if str(refused) == SIGN_IN_BLOCKED else "refused"
        return page("login.html", status=refused.status_code, next=back, username=username,
                    error=error)  # fmt: skip
    answer = RedirectResponse(back, status_code=303)
    set_session_cookie(answer, done.cookie_value)
    return answer


@router.get("/")
def home(request: Request, db: Db, at: Now, origin: From) -> Response:
    caller = _caller(request, db, at, origin)
    if caller is None or caller.web_session is None:
        return _to_sign_in(request)
    return page(
        "home.html", actor=caller.actor, posts=self_service.posts(db, caller),
        csrf=make_csrf_token(caller.web_session),
    )  # fmt: skip


@router.post("/logout")
def sign_out(
    request: Request, db: Db, at: Now, origin: From,
    csrf: Annotated[str, Form(max_length=200)] = "",
) -> Response:  # fmt: skip
    caller = _caller(request, db, at, origin, csrf=csrf, write=True)
    if caller is not None:
        self_service.sign_out(db, caller, client=origin, now=at, how=HOW)
    answer = RedirectResponse("/login", status_code=303)
    clear_session_cookie(answer)
    return answer
