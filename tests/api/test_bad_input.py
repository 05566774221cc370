"""Bad input gets a 4xx with a clear message in the API's shape and writes nothing (but the
refusal's audit event where the gate records one); an unexpected failure gets a bare 500."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hygie.api import deps
from hygie.db import Database
from tests.api.conftest import Site
from tests.auth.conftest import events

ABSURD_IDS = ["0", "-1", str(2**63), str(2**31), "abc", "1.5", "%20"]
ID_ROUTES = [
    ("GET", "/api/patients/{}"),
    ("GET", "/api/patients/{}/access-history"),
    ("GET", "/api/patients/{}/access-history.html"),
    ("POST", "/api/patients/{}/break-glass"),
    ("POST", "/api/break-glass/{}/review"),
    ("DELETE", "/api/sessions/{}"),
    ("DELETE", "/api/tokens/{}"),
]


def table_sizes(db: Database) -> dict[str, int]:
    from sqlalchemy import func, select

    from hygie.models import Base

    with db.sessions() as session:
        return {
            t.name: session.scalar(select(func.count()).select_from(t)) or 0
            for t in Base.metadata.sorted_tables
            if t.name not in ("web_sessions",)  # a request moves its session's last activity
        }


@pytest.mark.parametrize(("method", "template"), ID_ROUTES)
def test_absurd_ids_are_refused_before_the_gate(site: Site, method: str, template: str) -> None:
    client, signed = site.sign_in("rssi.a")
    csrf = {"X-CSRF-Token": signed["csrf_token"]}
    sizes = table_sizes(site.db)
    for raw in ABSURD_IDS:
        answer = client.request(method, template.format(raw), headers=csrf, json={})
        assert answer.status_code in (404, 422), (raw, answer.text)
        body = answer.json()
        assert set(body) == {"error", "field"} and body["error"]
        if answer.status_code == 422:
            assert body["field"] and body["field"].endswith("_id")
    assert table_sizes(site.db) == sizes


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"{not json", "the body is not valid JSON"),
        (b"", "a JSON body is required"),
        (b"[]", "the body must be a JSON object"),
        (b'"text"', "the body must be a JSON object"),
        (
            b'{"reason_code": 1, "reason_text": "Malaise en salle d\'attente"}',
            "Input should be a valid string",
        ),
        (b'{"reason_code": "emergency"}', "Field required"),
        (b'{"reason_code": "emergency", "reason_text": "x", "urgent": true}', "unknown field"),
    ],
)
def test_malformed_bodies(site: Site, raw: bytes, message: str) -> None:
    client, signed = site.sign_in("ide.a")
    headers = {"X-CSRF-Token": signed["csrf_token"], "content-type": "application/json"}
    sizes = table_sizes(site.db)
    answer = client.post(f"/api/patients/{site.patient}/break-glass", content=raw, headers=headers)
    assert answer.status_code == 422
    assert answer.json()["error"] == message
    assert table_sizes(site.db) == sizes


def test_unknown_route_and_method(site: Site) -> None:
    client = site.client()
    missing = client.get("/api/nothing-here")
    assert (missing.status_code, missing.json()) == (404, {"error": "Not Found", "field": None})
    wrong = client.put("/api/session")
    assert wrong.status_code == 405 and wrong.json()["error"] == "Method Not Allowed"


def test_unexpected_failure_is_a_bare_500(site: Site, caplog: pytest.LogCaptureFixture) -> None:
    class Broken:
        def __getattr__(self, name: str) -> Any:
            raise RuntimeError("database on fire at 10.0.0.5")

    site.app.dependency_overrides[deps.database] = Broken
    client = TestClient(site.app, base_url="https://testserver", raise_server_exceptions=False)
    answer = client.get(
        "/api/patients", params={"name": "martin"}, headers={"Authorization": "Bearer hyg_x"}
    )
    assert answer.status_code == 500
    assert answer.json() == {"error": "internal error", "field": None}
    assert "fire" not in answer.text and "Traceback" not in answer.text
    assert answer.headers["x-frame-options"] == "DENY"  # the security headers are still sent
    assert "database on fire" in caplog.text  # logged for the operator


@pytest.fixture
def reader(site: Site) -> TestClient:
    """A client with a read token (one for all the examples of a property test: a sign-in
    per example would run out of TOTP steps)."""
    client, signed = site.sign_in("sec.a")
    issued = client.post("/api/tokens", json={}, headers={"X-CSRF-Token": signed["csrf_token"]})
    return TestClient(
        site.app, base_url="https://testserver",
        headers={"Authorization": f"Bearer {issued.json()['token']}"},
    )  # fmt: skip


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    name=st.text(max_size=30),
    first_name=st.one_of(st.none(), st.text(max_size=12)),
    limit=st.one_of(st.integers(-5, 80), st.text(max_size=4)),
)
def test_search_never_fails_badly(
    reader: TestClient, name: str, first_name: str | None, limit: Any
) -> None:
    """Whatever the query string, a search answers 200 or a 4xx with a message."""
    params: dict[str, Any] = {"name": name, "limit": limit}
    if first_name is not None:
        params["first_name"] = first_name
    answer = reader.get("/api/patients", params=params)
    assert answer.status_code in (200, 422), answer.text
    if answer.status_code == 422:
        assert answer.json()["error"]


def test_nothing_is_written_by_refused_input_but_the_gates_refusals(site: Site) -> None:
    """A refused break-the-glass leaves its refusal in the trail and nothing else."""
    client, signed = site.sign_in("sec.a")
    csrf = {"X-CSRF-Token": signed["csrf_token"]}
    sizes = table_sizes(site.db)
    before = len(events(site.db))
    answer = client.post(
        f"/api/patients/{site.patient}/break-glass",
        json={"reason_code": "emergency", "reason_text": "Malaise en salle d'attente"},
        headers=csrf,
    )
    assert answer.status_code == 403
    (refusal,) = events(site.db)[before:]
    assert (refusal.action, refusal.outcome, refusal.reason) == (
        "break_glass", "denied", "your roles do not open clinical content",
    )  # fmt: skip
    grown = {k: v - sizes[k] for k, v in table_sizes(site.db).items() if v != sizes[k]}
    assert set(grown) <= {"audit_events", "audit_patients", "audit_seals"}
    assert grown["audit_events"] == 1
