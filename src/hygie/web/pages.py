"""Signing in and out, and the home page.

The session is the API's (``hygie_session`` cookie: Secure, HttpOnly, SameSite=Strict);
a form that changes something carries the session's CSRF token in a hidden field. After
a sign-in the browser goes back to the page it asked for (``next``, a path of this site
only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from hygie.api.deps import COOKIE_NAME, Db, From, Now
from hygie.api.session_routes import clear_session_cookie, set_session_cookie
from hygie.auth import callers, self_service
from hygie.auth.errors import SIGN_IN_BLOCKED, AuthenticationFailed
from hygie.web import i18n
from hygie.web.render import page
from hygie.web.session import HOW, Viewer

router = APIRouter(include_in_schema=False)


def _next(value: str | None) -> str:
    """A path of this site to go back to (never another site: no scheme, no //)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


@router.get("/login")
def sign_in_page(request: Request, next: str | None = None) -> Response:
    return page("login.html", request=request, next=_next(next), username="", error=None)


@router.post("/login")
def sign_in(
    request: Request,
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
        return page("login.html", request=request, status=refused.status_code, next=back, username=username,
                    error=error)  # fmt: skip
    answer = RedirectResponse(back, status_code=303)
    set_session_cookie(answer, done.cookie_value)
    return answer


@router.get("/")
def home(request: Request, user: Viewer) -> Response:
    posts = self_service.posts(user.db, user.caller)
    return page("home.html", request=request, user=user, posts=posts)


@router.post("/language")
def language(
    language: Annotated[str, Form(max_length=8)] = i18n.DEFAULT,
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    """The pages' language, kept in a cookie (a preference, not a secret)."""
    chosen = language if language in i18n.LANGUAGES else i18n.DEFAULT
    answer = RedirectResponse(_next(next), status_code=303)
    answer.set_cookie(i18n.COOKIE, chosen, max_age=365 * 86400, secure=True, httponly=True,
                      samesite="strict")  # fmt: skip
    return answer


@router.post("/logout")
def sign_out(request: Request, db: Db, at: Now, origin: From,
             csrf: Annotated[str, Form(max_length=200)] = "") -> Response:  # fmt: skip
    cookie = request.cookies.get(COOKIE_NAME)
    if cookie:
        try:
            caller = callers.from_cookie(
                db, cookie, csrf_token=csrf, needs_csrf=True, client=origin, now=at, how=HOW,
                request_line="POST /logout",
            )  # fmt: skip
        except AuthenticationFailed:
            caller = None  # already over, or a forged form: the cookie goes either way
        if caller is not None:
            self_service.sign_out(db, caller, client=origin, now=at, how=HOW)
    answer = RedirectResponse("/login", status_code=303)
    clear_session_cookie(answer)
    return answer
