"""The OpenAPI document (``GET /openapi.json``) of the non-FHIR endpoints, kept true.

FastAPI derives each operation's parameters, request body and success body from the route
(``response_model``, :mod:`hygie.api.responses`). This module adds what it cannot see:

- the error answers each operation can really give, all in the shape of
  :class:`~hygie.api.responses.Error`. Those that follow from how the route is built are
  derived here: 401 (and 403 for a change: scope or CSRF) from the caller it takes
  (:data:`hygie.api.deps.CREDENTIALS`), 400/413/422 from a request body, 422 from
  parameters, 414 for every route (:mod:`hygie.api.limits`). Those that depend on what the
  gate decides (403, 404, 409, 429) are declared by the route itself with :func:`errors`;
- the security schemes — a bearer token, or the session cookie, with the X-CSRF-Token
  header for a change — and, per operation, which of them it accepts;
- nothing under ``/fhir`` (the FHIR API has its own CapabilityStatement).

The property-based run (tests/api/test_openapi_fuzz.py) checks the running API against
this document.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.dependencies.utils import get_flat_params
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, iter_route_contexts

from hygie.api.deps import COOKIE_NAME, CREDENTIALS, CSRF_HEADER
from hygie.api.limits import MAX_URL_BYTES
from hygie.api.responses import Error

ERROR_SCHEMA = "Error"
_REF = {"$ref": f"#/components/schemas/{ERROR_SCHEMA}"}

DESCRIPTIONS = {
    400: "The request could not be read (a malformed Content-Length).",
    401: "Not signed in, or the session or token is invalid, expired or revoked.",
    403: "Refused: by the gate (roles, care relationship; `break_glass_possible` says "
    "whether break-the-glass would open it), or for a change, the token's scope or a "
    "missing CSRF token.",
    404: "No such record in your establishments.",
    409: "The change conflicts with the record's current state.",
    413: "The request body is larger than HYGIE_MAX_BODY_BYTES (1 MiB by default).",
    414: f"The path and query string are longer than {MAX_URL_BYTES} bytes.",
    422: "Invalid input; `field` names the field at fault.",
    429: "Too many failed sign-ins: sign-in is blocked for Retry-After seconds.",
    503: "The service is not available.",
}
_HEADERS = {
    401: {
        "WWW-Authenticate": {"description": 'Bearer realm="hygie"', "schema": {"type": "string"}}
    },
    429: {"Retry-After": {"description": "seconds", "schema": {"type": "string"}}},
}

SECURITY_SCHEMES = {
    "bearerToken": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "hyg_…",
        "description": "An API token (`hygie token issue` or POST /api/tokens); its scope "
        "(read or write) limits what it may do.",
    },
    "sessionCookie": {
        "type": "apiKey",
        "in": "cookie",
        "name": COOKIE_NAME,
        "description": "The session cookie set by POST /api/session.",
    },
    "csrfToken": {
        "type": "apiKey",
        "in": "header",
        "name": CSRF_HEADER,
        "description": "With the session cookie, every change sends the session's CSRF "
        "token (returned by POST /api/session and GET /api/session).",
    },
}

DESCRIPTION = """\
Hygie's JSON API. Every route reaches patient data through the access gate, which decides
with the caller's roles in the establishment concerned and records the access.

Authenticate with an API token (`Authorization: Bearer hyg_…`) or the session cookie set
by `POST /api/session`; with the cookie, every change also sends `X-CSRF-Token`.

Every error is `{"error": message, "field": name or null}` with a 4xx status. Bodies over
HYGIE_MAX_BODY_BYTES (1 MiB by default) get 413, addresses over 8 KiB 414.

The FHIR R4 API under `/fhir` is described by `GET /fhir/metadata`, not here."""


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The error answers a route declares (those the gate decides), for ``responses=``."""
    return {status: {"model": Error, "description": DESCRIPTIONS[status]} for status in statuses}


def install(app: FastAPI) -> None:
    """Serve :func:`document` as the application's OpenAPI document."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _is_fhir(path: str) -> bool:
    return path == "/fhir" or path.startswith("/fhir/")


def document(app: FastAPI) -> dict[str, Any]:
    doc = get_openapi(
        title=app.title, version=app.version, description=DESCRIPTION, routes=app.routes
    )
    for path in [p for p in doc.get("paths", {}) if _is_fhir(p)]:
        del doc["paths"][path]
    components = doc.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas[ERROR_SCHEMA] = Error.model_json_schema(ref_template="#/components/schemas/{model}")
    components["securitySchemes"] = SECURITY_SCHEMES
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        operations = doc["paths"].get(context.path_format or "", {})
        if isinstance(route, APIRoute):
            for method in route.methods or ():
                if method.lower() in operations:
                    _complete(operations[method.lower()], route)
    # FastAPI's own validation-error schemas are replaced by Error everywhere.
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    return doc


def _complete(operation: dict[str, Any], route: APIRoute) -> None:
    credentials = _credentials(route.dependant)
    operation["security"] = credentials or []
    statuses = {414}
    if credentials:
        statuses.add(401)
        if any("csrfToken" in requirement for requirement in credentials):
            statuses.add(403)  # a change: a read-only token, or a cookie without CSRF token
    if route.body_field is not None:
        statuses |= {400, 413, 422}
    if get_flat_params(route.dependant):  # path, query, header or cookie parameters
        statuses.add(422)
    responses: dict[str, Any] = operation.setdefault("responses", {})
    for code in sorted(statuses):
        responses[str(code)] = _error_response(code)
    for key, answer in list(responses.items()):
        if key.startswith("4"):
            responses[key] = _error_response(int(key), answer.get("description"))
    operation["responses"] = dict(sorted(responses.items()))


def _error_response(status: int, description: str | None = None) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "description": DESCRIPTIONS.get(status, description or ""),
        "content": {"application/json": {"schema": _REF}},
    }
    if status in _HEADERS:
        answer["headers"] = _HEADERS[status]
    return answer


def _credentials(dependant: Dependant) -> list[dict[str, list[str]]] | None:
    """The security requirements of the caller dependency the route takes, if any."""
    call: Callable[..., Any] | None = dependant.call
    if call is not None and call in CREDENTIALS:
        return CREDENTIALS[call]
    for sub in dependant.dependencies:
        found = _credentials(sub)
        if found is not None:
            return found
    return None
