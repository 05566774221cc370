"""Sessions through HTTP: who am I, idle and absolute timeouts, sign-out, ending one or all
other sessions, CSRF on every state-changing cookie request, authentication on every
route but sign-in."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from hygie.auth import service
from hygie.db import Database
from hygie.models import ApiToken, BreakGlass, WebSession
from tests.api.conftest import CLIENT_IP, PASSWORD, Site
from tests.auth.conftest import events

# Routes anyone may call: signing in. Every other /api route needs a session or a token.
PUBLIC = {("POST", "/api/session"), ("POST", "/api/session/enrol")}
STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}


def api_routes(site: Site) -> set[tuple[str, str]]:
    """(method, path template) of every /api route the application serves."""
    paths = site.app.openapi()["paths"]
    return {
        (method.upper(), path)
        for path, operations in paths.items()
        if path.startswith("/api/")
        for method in operations
    }


def test_who_am_i(site: Site) -> None:
    client, signed = site.sign_in("sec.a")
    me = client.get("/api/session")
    assert me.status_code == 200
    body = me.json()
    assert (body["username"], body["how"], body["session_id"]) == (
        "sec.a", "session", signed["session_id"],
    )  # fmt: skip
    assert body["establishments"] == [
        {
            "id": site.world.est_a,
            "finess": "750000010",
            "name": "Clinique A",
            "roles": ["secretary"],
        }
    ]
    assert "patients" not in body and "nir" not in me.text


def test_idle_timeout(site: Site) -> None:
    client, _ = site.sign_in("dr.a")
    for _ in range(3):  # activity every 14 minutes keeps it alive
        site.clock.advance(minutes=14)
        assert client.get("/api/session").status_code == 200
    site.clock.advance(minutes=15)
    ended = client.get("/api/session")
    assert ended.status_code == 401
    assert ended.json()["error"] == "your session has ended: sign in again"


def test_absolute_timeout(site: Site) -> None:
    client, signed = site.sign_in("dr.a")
    started = site.clock.now
    while site.clock.now + timedelta(minutes=14) < started + timedelta(hours=12):
        site.clock.advance(minutes=14)
        assert client.get("/api/session").status_code == 200
    site.clock.now = started + timedelta(hours=12)
    assert client.get("/api/session").status_code == 401
    assert signed["expires_at"] == (started + timedelta(hours=12)).isoformat()


def test_sign_out_ends_the_session_and_clears_the_cookie(site: Site) -> None:
    client, signed = site.sign_in("dr.a")
    stolen = client.cookies["hygie_session"]
    answer = client.delete("/api/session", headers={"X-CSRF-Token": signed["csrf_token"]})
    assert answer.status_code == 200
    assert 'hygie_session=""' in answer.headers["set-cookie"]
    revoked = events(site.db)[-1]
    assert (revoked.action, revoked.session_id, revoked.reason) == (
        "session.revoke", signed["session_id"], "signed out",
    )  # fmt: skip
    # A copy of the cookie is worth nothing now.
    replay = site.client()
    replay.cookies.set("hygie_session", stolen, domain="testserver.local")
    assert replay.get("/api/session").status_code == 401


def test_list_and_end_my_sessions(site: Site) -> None:
    laptop, first = site.sign_in("dr.a")
    phone, second = site.sign_in("dr.a")
    tablet, third = site.sign_in("dr.a")
    other, _ = site.sign_in("ide.a")
    listed = laptop.get("/api/sessions").json()["sessions"]
    assert [s["id"] for s in listed] == [
        third["session_id"],
        second["session_id"],
        first["session_id"],
    ]
    assert [s["current"] for s in listed] == [False, False, True]
    assert {"ip", "user_agent", "created_at", "last_seen_at", "expires_at"} <= set(listed[0])

    csrf = {"X-CSRF-Token": first["csrf_token"]}
    assert laptop.delete(f"/api/sessions/{second['session_id']}", headers=csrf).status_code == 200
    assert phone.get("/api/session").status_code == 401
    assert tablet.get("/api/session").status_code == 200
    # Someone else's session, or one already ended, is not found (and the attempt recorded).
    nurse_session = other.get("/api/session").json()["session_id"]
    for sid in (nurse_session, second["session_id"], 999):
        refused = laptop.delete(f"/api/sessions/{sid}", headers=csrf)
        assert (refused.status_code, refused.json()["field"]) == (404, "session_id")
        last = events(site.db)[-1]
        assert (last.action, last.outcome, last.username) == ("session.revoke", "denied", "dr.a")
    assert other.get("/api/session").status_code == 200

    ended = laptop.delete("/api/sessions", headers=csrf)
    assert ended.json() == {"ended": 1}
    assert tablet.get("/api/session").status_code == 401
    assert laptop.get("/api/session").status_code == 200  # the one asking stays open
    assert other.get("/api/session").status_code == 200  # other accounts untouched
    assert [s["id"] for s in laptop.get("/api/sessions").json()["sessions"]] == [
        first["session_id"]
    ]
    assert events(site.db)[-1].details["sessions"] == [third["session_id"]]


def test_disabled_account_loses_its_sessions(site: Site, db: Database) -> None:
    client, _ = site.sign_in("sec.a")
    with db.transaction() as session:
        service.disable_account(session, username="sec.a", now=site.clock.now, how="cli")
    assert client.get("/api/session").status_code == 401
    assert client.get("/api/patients", params={"name": "martin"}).status_code == 401


def test_every_route_but_sign_in_needs_authentication(site: Site) -> None:
    client = site.client()
    routes = api_routes(site)
    assert routes >= PUBLIC
    before = len(events(site.db))
    for method, template in sorted(routes - PUBLIC):
        path = template.format_map(defaultdict(lambda: 1, patient_id=site.patient))
        answer = client.request(method, path, json={})
        assert answer.status_code == 401, (method, template, answer.text)
        assert answer.json()["error"].startswith("sign in first")
    assert len(events(site.db)) == before  # an anonymous request touches nothing


# Well-formed bodies, so that the refusal is seen to come from the missing CSRF token alone.
# A state-changing route not listed here is still checked (with an empty body).
WELL_FORMED: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/api/tokens"): {"scope": "read", "ttl": 600},
    ("POST", "/api/patients/{patient_id}/break-glass"): {
        "reason_code": "emergency", "reason_text": "Malaise en salle d'attente",
    },
    ("POST", "/api/break-glass/{grant_id}/review"): {
        "verdict": "justified", "comment": "Appel du SAMU",
    },
}  # fmt: skip


@pytest.mark.parametrize("csrf", [None, "", "forged.0000", "other-session"])
def test_csrf_is_required_on_every_state_changing_request(site: Site, csrf: str | None) -> None:
    nurse, nurse_signed = site.sign_in("ide.a")
    officer, _ = site.sign_in("rssi.a")
    other, other_signed = site.sign_in("ide.a")
    good = {"X-CSRF-Token": nurse_signed["csrf_token"]}
    ids = defaultdict(
        lambda: 1,
        patient_id=site.patient,
        session_id=nurse_signed["session_id"],
        token_id=nurse.post("/api/tokens", json={"scope": "write"}, headers=good).json()["id"],
        grant_id=nurse.post(
            f"/api/patients/{site.patient}/break-glass",
            json=WELL_FORMED[("POST", "/api/patients/{patient_id}/break-glass")], headers=good,
        ).json()["id"],
    )  # fmt: skip
    routes = {r for r in api_routes(site) if r[0] in STATE_CHANGING} - PUBLIC
    assert set(WELL_FORMED) <= routes and len(routes) >= 7
    header = {} if csrf is None else {"X-CSRF-Token": csrf}
    if csrf == "other-session":  # a genuine token, but of another session
        header = {"X-CSRF-Token": other_signed["csrf_token"]}
    counts = _counts(site.db)
    for method, template in sorted(routes):
        client = officer if "review" in template else nurse
        path = template.format_map(ids)
        before = len(events(site.db))
        body = WELL_FORMED.get((method, template), {})
        answer = client.request(method, path, json=body, headers=header)
        assert answer.status_code == 403, (method, template, answer.text)
        assert answer.json()["error"].startswith("missing or invalid CSRF token")
        (refusal,) = events(site.db)[before:]
        assert (refusal.action, refusal.outcome, refusal.details["request"]) == (
            "request.csrf", "denied", f"{method} {path}",
        )  # fmt: skip
    assert _counts(site.db) == counts  # nothing changed
    assert nurse.get("/api/session").status_code == 200
    assert other.get("/api/session").status_code == 200


def _counts(db: Database) -> tuple[int, int, int, int]:
    from sqlalchemy import func, select

    with db.sessions() as session:
        live_sessions = session.scalar(
            select(func.count()).select_from(WebSession).where(WebSession.revoked_at.is_(None))
        )
        tokens = session.scalar(
            select(func.count()).select_from(ApiToken).where(ApiToken.revoked_at.is_(None))
        )
        grants = session.scalar(select(func.count()).select_from(BreakGlass))
        reviewed = session.scalar(
            select(func.count()).select_from(BreakGlass).where(BreakGlass.reviewed_at.is_not(None))
        )
    return (live_sessions or 0, tokens or 0, grants or 0, reviewed or 0)


def test_a_token_cannot_manage_sessions_or_mint_tokens(site: Site) -> None:
    client, signed = site.sign_in("dr.a")
    secret = client.post(
        "/api/tokens", json={"scope": "write"}, headers={"X-CSRF-Token": signed["csrf_token"]}
    ).json()["token"]
    bearer = TestClient(
        site.app, base_url="https://testserver", headers={"Authorization": f"Bearer {secret}"}
    )
    before = len(events(site.db))
    for method, path in [
        ("POST", "/api/tokens"), ("GET", "/api/sessions"), ("DELETE", "/api/sessions"),
        ("DELETE", "/api/session"), ("DELETE", f"/api/sessions/{signed['session_id']}"),
    ]:  # fmt: skip
        answer = bearer.request(method, path, json={"scope": "write"})
        assert answer.status_code == 401, (method, path)
        assert "API tokens cannot manage sessions" in answer.json()["error"]
    assert len(events(site.db)) == before
    assert client.get("/api/session").status_code == 200


def test_a_restarted_enrolment_closes_the_accounts_sessions(site: Site, db: Database) -> None:
    """While a new authenticator awaits its first code, the account does nothing else."""
    client, _ = site.sign_in("dr.a")
    with db.transaction() as session:
        from hygie.storage import staff as staff_store

        user = staff_store.user_by_username(session, "dr.a")
        assert user is not None
        service.start_enrolment(session, user=user, now=site.clock.now, how="cli")
    assert client.get("/api/session").status_code == 401


def test_address_and_user_agent_are_recorded_within_their_columns(site: Site) -> None:
    at = site.clock.advance(seconds=30)
    client = TestClient(site.app, base_url="https://testserver", headers={"User-Agent": "U" * 1000})
    body = {"username": "dr.a", "password": PASSWORD, "totp": site.logins["dr.a"].code(at)}
    assert client.post("/api/session", json=body).status_code == 200
    client.get("/api/patients", params={"name": "mart"})
    for event in events(site.db)[-3:]:
        assert event.user_agent == "U" * 400 and event.ip == CLIENT_IP
