"""POST /api/session and /api/session/enrol: a session only for the right password and a
fresh second factor; every refusal looks the same; lockout answers 429."""

from __future__ import annotations

import json
from http.cookies import SimpleCookie
from typing import Any

import pytest

from hygie.auth.errors import SIGN_IN_BLOCKED, SIGN_IN_FAILED
from hygie.auth.sessions import check_csrf_token
from hygie.db import Database
from hygie.models import WebSession
from tests.api.conftest import CLIENT_IP, PASSWORD, USER_AGENT, Site, add_account, give_login
from tests.auth.conftest import events


def attempt(site: Site, username: str = "dr.a", **override: Any) -> Any:
    at = site.clock.advance(seconds=30)
    body: dict[str, Any] = {"username": username, "password": PASSWORD}
    if username in site.logins:
        body["totp"] = site.logins[username].code(at)
    body.update(override)
    return site.client().post("/api/session", json=body)


def test_sign_in_opens_a_session_with_a_strict_cookie(site: Site) -> None:
    answer = attempt(site)
    assert answer.status_code == 200
    body = answer.json()
    assert body["username"] == "dr.a" and body["idle_timeout_seconds"] == 900
    (header,) = answer.headers.get_list("set-cookie")
    cookie = SimpleCookie(header)["hygie_session"]
    attributes = header.lower()
    assert cookie["path"] == "/" and "secure" in attributes and "httponly" in attributes
    assert "samesite=strict" in attributes
    assert len(cookie.value) >= 43  # 256 random bits
    with site.db.sessions() as session:
        row = session.get(WebSession, body["session_id"])
        assert row is not None and row.id_hash != cookie.value  # only its hash is stored
        assert check_csrf_token(row, body["csrf_token"])
        assert (row.ip, row.user_agent) == (CLIENT_IP, USER_AGENT)
    login, created = events(site.db)[-2:]
    assert (login.action, login.outcome, login.how, login.username) == (
        "auth.login", "allowed", "api", "dr.a",
    )  # fmt: skip
    assert (created.action, created.session_id, created.ip) == (
        "session.create", body["session_id"], CLIENT_IP,
    )  # fmt: skip


def test_each_sign_in_gets_a_new_session_id(site: Site) -> None:
    first = attempt(site).json()
    second = attempt(site).json()
    assert first["session_id"] != second["session_id"]
    assert first["csrf_token"] != second["csrf_token"]


@pytest.mark.parametrize(
    ("override", "reason"),
    [
        ({"password": "wrong password of some length"}, "wrong password"),
        ({"totp": "000000"}, "wrong TOTP code"),
        ({"totp": None}, "second factor missing"),
        ({"username": "nobody.here"}, "unknown account or no password"),
        ({"recovery_code": "not-a-code", "totp": None}, "wrong or used recovery code"),
    ],
)
def test_every_refusal_says_the_same(site: Site, override: dict[str, Any], reason: str) -> None:
    answer = attempt(site, **override)
    assert answer.status_code == 401
    assert answer.json() == {"error": SIGN_IN_FAILED, "field": None}
    assert "set-cookie" not in answer.headers
    last = events(site.db)[-1]
    assert (last.action, last.outcome, last.reason, last.how) == (
        "auth.login", "denied", reason, "api",
    )  # fmt: skip


def test_a_code_is_accepted_once(site: Site) -> None:
    at = site.clock.advance(seconds=30)
    body = {"username": "dr.a", "password": PASSWORD, "totp": site.logins["dr.a"].code(at)}
    assert site.client().post("/api/session", json=body).status_code == 200
    site.clock.advance(seconds=5)
    replay = site.client().post("/api/session", json=body)
    assert (replay.status_code, replay.json()["error"]) == (401, SIGN_IN_FAILED)
    assert events(site.db)[-1].reason == "TOTP code already used"


def test_a_recovery_code_works_once(site: Site) -> None:
    spare = site.logins["sec.a"].recovery_codes[0]
    good = attempt(site, "sec.a", totp=None, recovery_code=spare)
    assert good.status_code == 200
    assert [e.action for e in events(site.db)[-3:]] == [
        "auth.login", "mfa.recovery_code_used", "session.create",
    ]  # fmt: skip
    again = attempt(site, "sec.a", totp=None, recovery_code=spare)
    assert (again.status_code, again.json()["error"]) == (401, SIGN_IN_FAILED)


def test_lockout_answers_429_even_to_the_right_password(site: Site) -> None:
    for _ in range(5):
        assert attempt(site, password="not the password at all").status_code == 401
    lockouts = [e for e in events(site.db) if e.action == "auth.lockout"]
    assert [e.details["key"] for e in lockouts] == ["user:dr.a"]
    blocked = attempt(site)
    assert blocked.status_code == 429
    assert blocked.json()["error"] == SIGN_IN_BLOCKED
    assert blocked.headers["retry-after"] == "900"
    # Unknown names are throttled the same way: a lockout does not reveal an account.
    for _ in range(5):
        attempt(site, "no.such.person")
    assert attempt(site, "no.such.person").status_code == 429
    # Once the block has run out, the right password and code work again.
    site.clock.advance(minutes=16)
    assert attempt(site).status_code == 200


def test_pending_enrolment_signs_in_through_enrol_only(site: Site, db: Database) -> None:
    add_account(db, "new.nurse", "nurse", site.world.est_a)
    login = give_login(db, "new.nurse", at=site.clock.now, enrolled=False)
    assert attempt(site, "new.nurse", totp=login.code(site.clock.now)).status_code == 401
    assert events(db)[-1].reason == "TOTP not enrolled"
    at = site.clock.advance(seconds=30)
    body = {"username": "new.nurse", "password": PASSWORD, "totp": login.code(at)}
    client = site.client()
    answer = client.post("/api/session/enrol", json=body)
    assert answer.status_code == 200, answer.text
    assert [e.action for e in events(db)[-2:]] == ["mfa.enrol", "session.create"]
    assert client.get("/api/session").json()["username"] == "new.nurse"
    # Enrolment is over: the same door is now closed.
    site.clock.advance(seconds=30)
    body["totp"] = login.code(site.clock.now)
    assert site.client().post("/api/session/enrol", json=body).status_code == 401


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"username": "dr.a", "password": PASSWORD, "totp": 123456}, "totp"),
        ({"username": "dr.a\x00", "password": PASSWORD, "totp": "123456"}, "username"),
        ({"username": "dr.a", "password": PASSWORD, "totp": "1", "extra": 1}, "extra"),
        ({"username": "dr.a", "password": "x" * 5000, "totp": "123456"}, "password"),
        ({"password": PASSWORD, "totp": "123456"}, "username"),
        ([1, 2], None),
    ],
)
def test_malformed_sign_in_is_refused_before_any_check(
    site: Site, body: Any, field: str | None
) -> None:
    before = len(events(site.db))
    answer = site.client().post("/api/session", json=body)
    assert answer.status_code == 422
    assert answer.json()["field"] == field and answer.json()["error"]
    assert len(events(site.db)) == before  # no attempt was counted


def test_a_form_post_is_not_a_sign_in(site: Site) -> None:
    """A cross-site form can send text/plain that looks like JSON; it is not read as JSON
    (login CSRF)."""
    at = site.clock.advance(seconds=30)
    body = {"username": "dr.a", "password": PASSWORD, "totp": site.logins["dr.a"].code(at)}
    raw = json.dumps(body).encode()
    answer = site.client().post("/api/session", content=raw, headers={"content-type": "text/plain"})
    assert answer.status_code == 422
    assert "set-cookie" not in answer.headers
