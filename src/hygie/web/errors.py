"""Errors on pages are pages: the API's handlers answer JSON under ``/api`` (and the FHIR
application its own), the pages' answer HTML with one clear message and a way back, never
a stack trace.

A page usually handles what it expects itself (a form re-rendered with the message next to
the field, the break-the-glass dialog for a chart); these handlers catch the rest."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from starlette.exceptions import HTTPException

from hygie.access.containment import Contained, containment_headers
from hygie.access.gateway import AccessDenied
from hygie.auth.errors import AuthenticationFailed
from hygie.errors import ConflictError, HygieError, NotFoundError, ValidationError
from hygie.web.forms import OUT_OF_RANGE
from hygie.web.render import page
from hygie.web.session import SignInNeeded

log = logging.getLogger("hygie.web")
Handler = Callable[[Request, Any], Response | Awaitable[Response]]
_API = ("/api", "/fhir", "/health", "/ready", "/openapi.json", "/docs")


def is_page(request: Request) -> bool:
    return not request.url.path.startswith(_API)


def to_sign_in(request: Request, back: str) -> Response:
    target = f"/login?next={quote(back, safe='/')}"
    if request.headers.get("hx-request") == "true":
        # HTMX swaps answers into the page: ask it to leave the page instead.
        return Response(status_code=204, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


def error_page(request: Request, status: int, message: str, **extra: Any) -> Response:
    return page("error.html", request=request, status=status, message=message, **extra)


def _status(exc: HygieError) -> int:
    if isinstance(exc, AuthenticationFailed):
        return exc.status_code
    if isinstance(exc, Contained):
        return exc.status_code
    if isinstance(exc, AccessDenied):
        return 403
    return (
        422 if isinstance(exc, ValidationError)
        else 404 if isinstance(exc, NotFoundError)
        else 409 if isinstance(exc, ConflictError)
        else 400
    )  # fmt: skip


def domain_error_page(request: Request, exc: HygieError) -> Response:
    status = _status(exc)
    headers = containment_headers(exc) if isinstance(exc, Contained) else None
    answer = error_page(request, status, exc.message, contained=isinstance(exc, Contained))
    for name, value in (headers or {}).items():
        answer.headers[name] = value
    return answer


async def _answer(handler: Handler, request: Request, exc: Exception) -> Response:
    answer = handler(request, exc)
    return await answer if inspect.isawaitable(answer) else answer


def install(app: FastAPI) -> None:
    """Put the pages' handlers in front of the API's, for page paths only."""
    api_domain: Handler = app.exception_handlers[HygieError]
    api_input: Handler = app.exception_handlers[RequestValidationError]
    api_http: Handler = app.exception_handlers[HTTPException]

    @app.exception_handler(SignInNeeded)
    async def on_sign_in_needed(request: Request, exc: SignInNeeded) -> Response:
        return to_sign_in(request, exc.back)

    @app.exception_handler(HygieError)
    async def on_domain_error(request: Request, exc: HygieError) -> Response:
        if not is_page(request):
            return await _answer(api_domain, request, exc)
        return domain_error_page(request, exc)

    @app.exception_handler(RequestValidationError)
    async def on_bad_input(request: Request, exc: RequestValidationError) -> Response:
        if not is_page(request):
            return await _answer(api_input, request, exc)
        # A page's parameters come from its own links and forms: a bad one is a bad address.
        return error_page(
            request, 404, "Page introuvable : l'adresse est incomplète ou incorrecte."
        )

    @app.exception_handler(OverflowError)
    async def on_overflow(request: Request, exc: OverflowError) -> Response:
        # A date at the edge of the calendar (year 1, year 9999) in a page's address or
        # form overflows the time-zone arithmetic: it is bad input, not a server fault.
        if not is_page(request):
            return await _answer(app.exception_handlers[Exception], request, exc)
        return error_page(request, 422, OUT_OF_RANGE)

    @app.exception_handler(HTTPException)
    async def on_http_error(request: Request, exc: HTTPException) -> Response:
        if not is_page(request) or request.url.path.startswith("/static"):
            return await _answer(api_http, request, exc)
        message = "Page introuvable." if exc.status_code == 404 else str(exc.detail)
        return error_page(request, exc.status_code, message)
