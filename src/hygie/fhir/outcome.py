"""Errors as FHIR answers them: an OperationOutcome with the right status, never a stack
trace. Domain errors keep their message (written for the person who sent the input)."""

from __future__ import annotations

import logging
from typing import Any

from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from hygie.access.containment import Contained, containment_headers
from hygie.access.gateway import AccessDenied
from hygie.api.errors import validation_message
from hygie.auth.errors import SIGN_IN_BLOCKED, AuthenticationFailed
from hygie.auth.throttle import DEFAULT_POLICY
from hygie.errors import ConfigurationError, ConflictError, HygieError, NotFoundError
from hygie.fhir.wire import fhir_response

log = logging.getLogger("hygie.fhir")

# HTTP status -> the OperationOutcome issue code that says the same.
ISSUE_CODES = {
    400: "invalid", 401: "login", 403: "forbidden", 404: "not-found", 405: "not-supported",
    406: "not-supported", 409: "conflict", 410: "deleted", 412: "conflict", 413: "too-long",
    415: "not-supported", 422: "processing", 429: "throttled", 500: "exception", 503: "transient",
}  # fmt: skip


class FhirError(Exception):
    """A refusal to answer with an OperationOutcome: ``status``, a message, and where in
    the request the fault lies (a FHIRPath-like expression, e.g. ``Patient.birthDate``)."""

    def __init__(
        self, status: int, message: str, *, expression: str | None = None, code: str | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.expression = status, message, expression
        self.code = code or ISSUE_CODES.get(status, "processing")


def operation_outcome(
    message: str, *, code: str, severity: str = "error", expression: str | None = None
) -> dict[str, Any]:
    issue: dict[str, Any] = {"severity": severity, "code": code, "diagnostics": message}
    if expression:
        issue["expression"] = [expression]
    return {"resourceType": "OperationOutcome", "issue": [issue]}


def outcome_response(
    status: int,
    message: str,
    *,
    expression: str | None = None,
    code: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    body = operation_outcome(
        message, code=code or ISSUE_CODES.get(status, "processing"), expression=expression
    )
    return fhir_response(body, status=status, headers=headers)


def from_domain(exc: HygieError, *, unprocessable: bool = False) -> Response:
    """The answer to a domain or authentication error. ``unprocessable``: a resource sent
    for create or update broke a rule (422) rather than a search parameter (400)."""
    if isinstance(exc, AuthenticationFailed):
        if exc.message == SIGN_IN_BLOCKED:
            retry = str(int(DEFAULT_POLICY.block.total_seconds()))
            return outcome_response(429, exc.message, headers={"Retry-After": retry})
        headers = {"WWW-Authenticate": 'Bearer realm="hygie"'} if exc.status_code == 401 else None
        return outcome_response(exc.status_code, exc.message, headers=headers)
    if isinstance(exc, Contained):
        return outcome_response(
            exc.status_code, exc.message, code="throttled" if exc.status_code == 429 else
            "security", headers=containment_headers(exc),
        )  # fmt: skip
    if isinstance(exc, AccessDenied):
        message = exc.message
        if exc.break_glass_possible:
            message += (
                " (to proceed, resend with the headers X-Break-Glass-Reason and"
                " X-Break-Glass-Text: see GET /fhir/metadata)"
            )
        return outcome_response(403, message)
    if isinstance(exc, ConfigurationError):
        log.error("configuration problem: %s", exc)
        return outcome_response(503, "the service is not available: try again later")
    status = (
        404 if isinstance(exc, NotFoundError)
        else 409 if isinstance(exc, ConflictError)
        else 422 if unprocessable
        else 400
    )  # fmt: skip
    return outcome_response(status, exc.message, expression=exc.field)


async def on_fhir_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, FhirError)  # noqa: S101 - registered for FhirError only
    return outcome_response(exc.status, exc.message, expression=exc.expression, code=exc.code)


async def on_domain_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HygieError)  # noqa: S101 - registered for HygieError only
    return from_domain(exc, unprocessable=request.method in ("POST", "PUT"))


async def on_bad_input(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)  # noqa: S101
    message, field = validation_message(exc.errors())
    return outcome_response(400, message, expression=field)


async def on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)  # noqa: S101
    message = "no such FHIR endpoint" if exc.status_code == 404 else str(exc.detail)
    return outcome_response(exc.status_code, message, headers=dict(exc.headers or {}))


async def on_unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return outcome_response(500, "internal error")
