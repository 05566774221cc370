"""API bearer tokens through HTTP: issued by a signed-in session, scoped, revocable,
short-lived; every use recorded."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient

from hygie.auth.errors import TOKEN_INVALID, TOKEN_SCOPE
from hygie.db import Database
from hygie.models import ApiToken
from tests.api.conftest import CLIENT_IP, USER_AGENT, Site, add_account, give_login
from tests.auth.conftest import events

REASON = {"reason_code": "emergency", "reason_text": "Malaise en salle d'attente"}


def issue(site: Site, username: str, **body: Any) -> dict[str, Any]:
    client, signed = site.sign_in(username)
    answer = client.post("/api/tokens", json=body, headers={"X-CSRF-Token": signed["csrf_token"]})
    assert answer.status_code == 201, answer.text
    issued: dict[str, Any] = answer.json()
    return issued


def bearer(site: Site, secret: str) -> TestClient:
    return TestClient(
        site.app,
        base_url="https://testserver",
        headers={"Authorization": f"Bearer {secret}", "User-Agent": USER_AGENT},
    )


def test_issue_is_recorded_and_stored_hashed(site: Site) -> None:
    issued = issue(site, "dr.a", scope="read", ttl=600)
    assert issued["token"].startswith("hyg_") and issued["scope"] == "read"
    with site.db.sessions() as session:
        row = session.get(ApiToken, issued["id"])
        assert row is not None and issued["token"] not in row.token_hash
        assert row.expires_at - row.created_at == timedelta(seconds=600)
    event = events(site.db)[-1]
    assert (event.action, event.token_id, event.how, event.ip) == (
        "token.issue", issued["id"], "api", CLIENT_IP,
    )  # fmt: skip


def test_default_is_one_hour_of_reading(site: Site) -> None:
    issued = issue(site, "dr.a")
    assert issued["scope"] == "read"
    with site.db.sessions() as session:
        row = session.get(ApiToken, issued["id"])
        assert row is not None and row.expires_at - row.created_at == timedelta(hours=1)


def test_bad_ttl_or_scope_is_refused_with_its_field(site: Site) -> None:
    client, signed = site.sign_in("dr.a")
    csrf = {"X-CSRF-Token": signed["csrf_token"]}
    for body, field in [
        ({"ttl": 10}, "ttl"), ({"ttl": 10**6}, "ttl"), ({"ttl": 2**70}, "ttl"),
        ({"ttl": "3600"}, "ttl"), ({"scope": "admin"}, "scope"), ({"scope": None}, "scope"),
    ]:  # fmt: skip
        answer = client.post("/api/tokens", json=body, headers=csrf)
        assert (answer.status_code, answer.json()["field"]) == (422, field), body
    assert [e for e in events(site.db) if e.action == "token.issue"] == []


def test_read_token_reads_but_does_not_write(site: Site) -> None:
    secret = issue(site, "ide.a", scope="read")["token"]
    client = bearer(site, secret)
    found = client.get("/api/patients", params={"name": "martin"})
    assert found.status_code == 200 and found.json()["count"] == 1
    use, search = events(site.db)[-2:]
    assert (use.action, use.outcome, use.how) == ("token.use", "allowed", "api")
    assert (search.action, search.token_id, search.session_id) == (
        "patient.search",
        use.token_id,
        None,
    )
    assert (search.ip, search.user_agent, search.how) == (CLIENT_IP, USER_AGENT, "api")

    refused = client.post(f"/api/patients/{site.patient}/break-glass", json=REASON)
    assert refused.status_code == 403
    assert refused.json()["error"] == TOKEN_SCOPE
    last = events(site.db)[-1]
    assert (last.action, last.outcome, last.reason) == (
        "token.use", "denied", "scope read does not allow write",
    )  # fmt: skip


def test_write_token_writes_without_csrf(site: Site) -> None:
    secret = issue(site, "ide.a", scope="write")["token"]
    opened = bearer(site, secret).post(f"/api/patients/{site.patient}/break-glass", json=REASON)
    assert opened.status_code == 201, opened.text
    assert [e.action for e in events(site.db)[-2:]] == ["token.use", "break_glass"]


def test_revoked_token_is_refused(site: Site) -> None:
    client, signed = site.sign_in("dr.a")
    csrf = {"X-CSRF-Token": signed["csrf_token"]}
    first = client.post("/api/tokens", json={}, headers=csrf).json()
    second = client.post("/api/tokens", json={"scope": "write"}, headers=csrf).json()
    listed = client.get("/api/tokens").json()["tokens"]
    assert [t["id"] for t in listed] == [second["id"], first["id"]]
    assert all("token" not in t for t in listed)  # the secret is never shown again
    assert client.delete(f"/api/tokens/{first['id']}", headers=csrf).status_code == 200
    assert events(site.db)[-1].action == "token.revoke"
    refused = bearer(site, first["token"]).get("/api/session")
    assert (refused.status_code, refused.json()["error"]) == (401, TOKEN_INVALID)
    assert events(site.db)[-1].reason == "revoked token"
    # A token may revoke itself; then it is dead too.
    own = bearer(site, second["token"])
    assert own.get("/api/tokens").json()["tokens"][0]["id"] == second["id"]
    assert own.delete(f"/api/tokens/{second['id']}").status_code == 200
    assert own.get("/api/session").status_code == 401
    assert client.get("/api/tokens").json()["tokens"] == []


def test_someone_elses_token_cannot_be_revoked(site: Site) -> None:
    theirs = issue(site, "ide.a")
    client, signed = site.sign_in("dr.a")
    answer = client.delete(
        f"/api/tokens/{theirs['id']}", headers={"X-CSRF-Token": signed["csrf_token"]}
    )
    assert (answer.status_code, answer.json()["field"]) == (404, "token_id")
    last = events(site.db)[-1]
    assert (last.action, last.outcome, last.username) == ("token.revoke", "denied", "dr.a")
    assert bearer(site, theirs["token"]).get("/api/session").status_code == 200


def test_expired_token_is_refused(site: Site) -> None:
    issued = issue(site, "dr.a", ttl=120)
    client = bearer(site, issued["token"])
    site.clock.advance(seconds=60)
    assert client.get("/api/session").status_code == 200
    site.clock.advance(seconds=61)
    assert client.get("/api/session").status_code == 401
    assert events(site.db)[-1].reason == "expired token"


def test_unknown_or_malformed_tokens_are_refused(site: Site) -> None:
    for header in ["Bearer hyg_not-a-real-token", "Bearer nothing", "Basic ZHI6YQ==", "Bearer "]:
        client = TestClient(
            site.app, base_url="https://testserver", headers={"Authorization": header}
        )
        answer = client.get("/api/patients", params={"name": "martin"})
        assert answer.status_code == 401, header
        assert answer.json()["error"] == TOKEN_INVALID
        assert answer.headers["www-authenticate"].startswith("Bearer")
    unknown = [e for e in events(site.db) if e.action == "token.use"]
    assert [e.reason for e in unknown] == ["unknown token", "unknown token"]


def test_token_of_an_account_awaiting_its_second_factor_is_refused(
    site: Site, db: Database
) -> None:
    add_account(db, "new.nurse", "nurse", site.world.est_a)
    give_login(db, "new.nurse", at=site.clock.now, enrolled=False)
    with db.transaction() as session:
        from hygie.auth import tokens
        from hygie.storage import staff as staff_store

        user = staff_store.user_by_username(session, "new.nurse")
        assert user is not None
        secret = tokens.issue_token(
            session, user=user, scope="read", ttl=timedelta(hours=1), now=site.clock.now, how="cli"
        ).secret
    before = len(events(db))
    answer = bearer(site, secret).get("/api/patients", params={"name": "martin"})
    assert answer.status_code == 401
    (refusal,) = events(db)[before:]  # the refusal alone: no "allowed" use, no search
    assert (refusal.action, refusal.outcome, refusal.reason) == (
        "token.use", "denied", "second factor enrolment pending",
    )  # fmt: skip


def test_disabled_account_token_is_refused(site: Site, db: Database) -> None:
    from hygie.auth import service

    secret = issue(site, "sec.a")["token"]
    with db.transaction() as session:
        service.disable_account(session, username="sec.a", now=site.clock.now, how="cli")
    assert bearer(site, secret).get("/api/session").status_code == 401
