"""Errors as the API answers them: always ``{"error": message, "field": name or null}``,
never a stack trace.

Domain errors keep their message (it was written for the person who typed the input);
authentication refusals keep their one generic message; anything unexpected is logged
here and answered ``500 {"error": "internal error"}``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from hygie.access.containment import Contained, containment_headers
from hygie.access.gateway import AccessDenied
from hygie.auth.errors import SIGN_IN_BLOCKED, AuthenticationFailed
from hygie.auth.throttle import DEFAULT_POLICY
from hygie.errors import (
    ConfigurationError,
    ConflictError,
    HygieError,
    NotFoundError,
    ValidationError,
)

log = logging.getLogger("hygie.api")

INTERNAL = "internal error"
NOT_JSON = "the body is not valid JSON"
# FastAPI's answer to a body it could not decode (bytes that are not UTF-8, say).
_UNREADABLE_BODY = "There was an error parsing the body"
UNAVAILABLE = "the service is not available: try again later"
# Where a parameter was found says nothing the field name does not.
_LOCATIONS = {"body", "query", "path", "header", "cookie"}


def error_body(message: str, field: str | None = None, **extra: Any) -> dict[str, Any]:
    return {"error": message, "field": field, **extra}


def domain_error(exc: HygieError) -> JSONResponse:
    """The response for a domain or authentication error."""
    if isinstance(exc, AuthenticationFailed):
        return _authentication(exc)
    if isinstance(exc, Contained):
        return JSONResponse(
            error_body(exc.message, containment=exc.response.label),
            status_code=exc.status_code, headers=containment_headers(exc),
        )  # fmt: skip
    if isinstance(exc, AccessDenied):
        return JSONResponse(
            error_body(exc.message, exc.field, break_glass_possible=exc.break_glass_possible),
            status_code=403,
        )
    if isinstance(exc, ConfigurationError):
        log.error("configuration problem: %s", exc)
        return JSONResponse(error_body(UNAVAILABLE), status_code=503)
    status = (
        422 if isinstance(exc, ValidationError)
        else 404 if isinstance(exc, NotFoundError)
        else 409 if isinstance(exc, ConflictError)
        else 400
    )  # fmt: skip
    return JSONResponse(error_body(exc.message, exc.field), status_code=status)


def _authentication(exc: AuthenticationFailed) -> JSONResponse:
    if exc.message == SIGN_IN_BLOCKED:
        # The throttle counts unknown names like real ones, so this says nothing about
        # which accounts exist; the client may retry once the block has run out.
        retry = str(int(DEFAULT_POLICY.block.total_seconds()))
        return JSONResponse(
            error_body(exc.message), status_code=429, headers={"Retry-After": retry}
        )
    headers = {"WWW-Authenticate": 'Bearer realm="hygie"'} if exc.status_code == 401 else None
    return JSONResponse(error_body(exc.message), status_code=exc.status_code, headers=headers)


def validation_message(errors: Sequence[Mapping[str, Any]]) -> tuple[str, str | None]:
    """One clear message, and the field at fault, for FastAPI's list of input errors."""
    if not errors:
        return "invalid request", None
    first = errors[0]
    kind = str(first.get("type", ""))
    path = [str(p) for p in first.get("loc", ()) if str(p) not in _LOCATIONS]
    field = ".".join(path) or None
    if kind == "json_invalid":
        return NOT_JSON, None
    if kind == "missing" and field is None:
        return "a JSON body is required", None
    if kind in ("model_attributes_type", "dict_type") and field is None:
        return "the body must be a JSON object", None
    if kind == "extra_forbidden":
        return "unknown field", field
    return str(first.get("msg", "invalid value")), field


def install(app: FastAPI, security_headers: Mapping[str, str]) -> None:
    """Register the handlers that give every error the API's shape."""

    @app.exception_handler(HygieError)
    async def on_domain_error(request: Request, exc: HygieError) -> JSONResponse:
        return domain_error(exc)

    @app.exception_handler(RequestValidationError)
    async def on_bad_input(request: Request, exc: RequestValidationError) -> JSONResponse:
        message, field = validation_message(exc.errors())
        return JSONResponse(error_body(message, field), status_code=422)

    @app.exception_handler(HTTPException)
    async def on_http_error(request: Request, exc: HTTPException) -> JSONResponse:
        if exc.status_code == 400 and exc.detail == _UNREADABLE_BODY:
            # Bytes that are not UTF-8 are no more JSON than a stray brace.
            return JSONResponse(error_body(NOT_JSON), status_code=422)
        return JSONResponse(
            error_body(str(exc.detail)), status_code=exc.status_code, headers=exc.headers
        )

    @app.exception_handler(Exception)
    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Answered by the outermost middleware, outside the one that adds the security
        # headers: add them here.
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return JSONResponse(error_body(INTERNAL), status_code=500, headers=dict(security_headers))
