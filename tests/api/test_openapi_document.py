"""The OpenAPI document itself: every /api operation says how to authenticate and what
each error looks like; nothing under /fhir; the error statuses that follow from how a
route is built are all listed. (That the running API keeps to it is
test_openapi_fuzz.py's job.)"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from hygie.app import create_app
from hygie.db import Database
from tests.api.conftest import Site

ERROR_REF = {"$ref": "#/components/schemas/Error"}
PUBLIC = {"POST /api/session", "POST /api/session/enrol", "GET /health", "GET /ready"}
SESSION_ONLY = {
    "GET /api/sessions", "DELETE /api/sessions", "DELETE /api/sessions/{session_id}",
    "DELETE /api/session", "POST /api/tokens", "POST /api/session/step-up",
}  # fmt: skip


def operations(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        f"{method.upper()} {path}": operation
        for path, item in doc["paths"].items()
        for method, operation in item.items()
    }


def test_served_document(site: Site) -> None:
    answer = site.client().get("/openapi.json")
    assert answer.status_code == 200
    doc = answer.json()
    assert doc["openapi"].startswith("3.")
    ops = operations(doc)
    assert len(ops) >= 40
    assert not [p for p in doc["paths"] if p.startswith("/fhir")]
    schemes = doc["components"]["securitySchemes"]
    assert schemes["bearerToken"] == {**schemes["bearerToken"], "type": "http", "scheme": "bearer"}
    assert (schemes["sessionCookie"]["in"], schemes["sessionCookie"]["name"]) == (
        "cookie", "hygie_session",
    )  # fmt: skip
    assert (schemes["csrfToken"]["in"], schemes["csrfToken"]["name"]) == (
        "header", "X-CSRF-Token",
    )  # fmt: skip
    assert "HTTPValidationError" not in doc["components"]["schemas"]

    for label, op in ops.items():
        method = label.split()[0]
        responses = op["responses"]
        success = [s for s in responses if s.startswith("2")]
        assert len(success) == 1, label
        assert "414" in responses, label
        for status, answer_doc in responses.items():
            if status.startswith("4"):
                assert answer_doc["content"] == {"application/json": {"schema": ERROR_REF}}, (
                    label, status,
                )  # fmt: skip
        if label in PUBLIC:
            assert op["security"] == [], label
            continue
        assert "401" in responses and responses["401"]["headers"]["WWW-Authenticate"], label
        security = op["security"]
        if label in SESSION_ONLY:
            assert all("bearerToken" not in s for s in security), label
        else:
            assert {"bearerToken": []} in security, label
        if method != "GET":  # a change: with the cookie, the CSRF token goes with it
            assert "403" in responses, label
            assert all("csrfToken" in s for s in security if "sessionCookie" in s), label
        else:
            assert {"sessionCookie": []} in security, label
        if "requestBody" in op:
            assert {"400", "413", "422"} <= set(responses), label
        if op.get("parameters"):
            assert "422" in responses, label

    sign_in = ops["POST /api/session"]["responses"]
    assert sign_in["429"]["headers"]["Retry-After"]
    # Success bodies are described, not left as "any object".
    chart = ops["GET /api/patients/{patient_id}"]["responses"]["200"]
    assert chart["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Chart"}


def test_fhir_routes_never_appear(db: Database) -> None:
    """Even a FHIR route mounted without include_in_schema=False stays out."""
    app = create_app(db=db)
    stray = APIRouter()

    @stray.get("/fhir/Stray")
    def stray_route() -> dict[str, str]:
        return {}

    app.include_router(stray)
    app.openapi_schema = None
    assert not [p for p in app.openapi()["paths"] if p.startswith("/fhir")]
