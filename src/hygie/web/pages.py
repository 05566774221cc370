"""Signing in and out, and the home page.

The session is the API's (``hygie_session`` cookie: Secure, HttpOnly, SameSite=Strict);
a form that changes something carries the session's CSRF token in a hidden field. After
a sign-in the browser goes back to the page it asked for (``next``, a path of this site
only)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote, urlsplit

import segno
from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup

from hygie.api.deps import COOKIE_NAME, Db, From, Now
from hygie.api.session_routes import clear_session_cookie, set_session_cookie
from hygie.auth import callers, first_sign_in, self_service
from hygie.auth.callers import CsrfRefused
from hygie.auth.errors import SIGN_IN_BLOCKED, AuthenticationFailed
from hygie.web import i18n
from hygie.web.errors import error_page
from hygie.web.labels import N_
from hygie.web.render import page
from hygie.web.session import HOW, Viewer

router = APIRouter(include_in_schema=False)


FORGED = N_("Formulaire refusé : il ne vient pas de cette page. Réessayez depuis Hygie.")


def _other_site(request: Request) -> bool:
    """A form posted from another site (the browser says so in Origin): refused for the
    sign-in forms, which carry no session token yet (login CSRF)."""
    # Browsers say where a form comes from in Sec-Fetch-Site; with our Referrer-Policy
    # (no-referrer) their Origin is "null", so it only counts when it names a site.
    if request.headers.get("sec-fetch-site") in ("cross-site", "same-site"):
        return True
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return False
    return urlsplit(origin).netloc != request.url.netloc


def _next(value: str | None) -> str:
    """A path of this site to go back to (never another site: no scheme, no //)."""
    if (
        not value or not value.startswith("/") or value.startswith("//") or "\\" in value
        or any(c.isspace() or not c.isprintable() for c in value)
    ):  # fmt: skip
        # Browsers drop tabs and newlines from a URL: "/\t/evil" would become "//evil".
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
    if _other_site(request):
        return error_page(request, 403, FORGED)
    name, code = username.strip(), totp.strip()
    try:
        if code:
            done = callers.sign_in(
                db, username=name, password=password, totp_code=code, recovery_code=None,
                enrol=False, client=origin, now=at, how=HOW,
            )  # fmt: skip
            cookie, target = done.cookie_value, back
        else:
            # No code: a first sign-in, whose password opens the enrolment of a second
            # factor and nothing else (refused with the same message for anyone else).
            begun = first_sign_in.start(db, username=name, password=password, client=origin,
                                        now=at, how=HOW)  # fmt: skip
            cookie, target = begun.cookie_value, f"/enrol?next={quote(back, safe='/')}"
    except AuthenticationFailed as refused:
        # The message never says which of the three was wrong; what was typed stays.
        error = "blocked" if str(refused) == SIGN_IN_BLOCKED else "refused"
        return page("login.html", request=request, status=refused.status_code, next=back,
                    username=username, error=error)  # fmt: skip
    answer = RedirectResponse(target, status_code=303)
    set_session_cookie(answer, cookie)
    return answer


def _qr(uri: str, title: str) -> Markup:
    """The otpauth URI as an SVG QR code drawn here (no image service, no inline style)."""
    svg = segno.make(uri, error="m").svg_inline(scale=5, dark="#000", light="#fff", title=title)
    return Markup(svg)  # noqa: S704 - segno's own SVG: no user text but the escaped title


@router.get("/enrol")
def enrolment_page(request: Request, db: Db, at: Now, next: str | None = None) -> Response:
    cookie = request.cookies.get(COOKIE_NAME) or ""
    try:
        pending = first_sign_in.pending(db, cookie_value=cookie, now=at)
    except AuthenticationFailed:
        return RedirectResponse(f"/login?next={quote(_next(next), safe='/')}", status_code=303)
    return _enrolment(request, pending, _next(next), error=None)


def _enrolment(request: Request, pending: first_sign_in.Pending, back: str, *,
               error: str | None, status: int = 200) -> Response:  # fmt: skip
    grouped = " ".join(pending.secret[i : i + 4] for i in range(0, len(pending.secret), 4))
    return page(
        "enrol.html", request=request, status=status, next=back, error=error,
        username=pending.username, secret=grouped, csrf=pending.csrf_token,
        qr=_qr(pending.uri, f"Hygie {pending.username}"),
    )  # fmt: skip


@router.post("/enrol")
def enrol(
    request: Request,
    db: Db,
    at: Now,
    origin: From,
    totp: Annotated[str, Form(max_length=16)] = "",
    csrf: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    back = _next(next)
    if _other_site(request):
        return error_page(request, 403, FORGED)
    cookie = request.cookies.get(COOKIE_NAME) or ""
    try:
        done = first_sign_in.finish(db, cookie_value=cookie, code=totp, csrf_token=csrf,
                                    client=origin, now=at, how=HOW)  # fmt: skip
    except AuthenticationFailed as refused:
        try:
            pending = first_sign_in.pending(db, cookie_value=cookie, now=at)
        except AuthenticationFailed:
            return RedirectResponse(f"/login?next={quote(back, safe='/')}", status_code=303)
        error = "blocked" if str(refused) == SIGN_IN_BLOCKED else "refused"
        return _enrolment(request, pending, back, error=error, status=refused.status_code)
    # The recovery codes are shown on this answer only (they are stored hashed).
    answer = page("recovery_codes.html", request=request, codes=done.recovery_codes, next=back)
    answer.headers["Cache-Control"] = "no-store"
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
        except CsrfRefused:
            # A live session and a form without its token: another site's forgery (it is
            # recorded); the session stays.
            return error_page(request, 403, FORGED)
        except AuthenticationFailed:
            caller = None  # the session is already over: the cookie goes
        if caller is not None:
            self_service.sign_out(db, caller, client=origin, now=at, how=HOW)
    answer = RedirectResponse("/login", status_code=303)
    clear_session_cookie(answer)
    return answer
