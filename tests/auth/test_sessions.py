"""Server-side sessions: hashed ids, idle and absolute timeouts, revocation, CSRF tokens."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from sqlalchemy import select

from hygie.auth import service, sessions
from hygie.auth.errors import SESSION_INVALID, AuthenticationFailed
from hygie.db import Database
from hygie.models import User, WebSession
from tests.auth.conftest import NOW, PASSWORD, Account, code, events


def open_session(db: Database, account: Account, at=NOW) -> str:  # type: ignore[no-untyped-def]
    _, new = service.login(
        db,
        username=account.username,
        password=PASSWORD,
        totp_code=code(account, at),
        ip="198.51.100.7",
        user_agent="pytest",
        now=at,
    )
    return new.cookie_value


def check(db: Database, cookie: str, at) -> int:  # type: ignore[no-untyped-def]
    with db.transaction() as session:
        _row, user = sessions.validate_session(session, cookie, now=at)
        return user.id


def refused(db: Database, cookie: str, at) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(AuthenticationFailed, match=SESSION_INVALID):
        check(db, cookie, at)


def test_only_the_hash_of_the_id_is_stored(db: Database, account: Account) -> None:
    cookie = open_session(db, account)
    assert len(cookie) >= 43  # 256 bits
    with db.sessions() as session:
        row = session.scalars(select(WebSession)).one()
    assert row.id_hash == hashlib.sha256(cookie.encode()).hexdigest()
    assert cookie not in (row.id_hash, row.csrf_secret)
    assert row.mfa_at == NOW and row.ip == "198.51.100.7"
    assert sessions.COOKIE["httponly"] and sessions.COOKIE["secure"]
    assert sessions.COOKIE["samesite"] == "strict"


def test_idle_timeout(db: Database, account: Account) -> None:
    cookie = open_session(db, account)
    at = NOW
    for _ in range(4):  # activity every 14 minutes keeps it alive
        at += timedelta(minutes=14)
        assert check(db, cookie, at) == account.user_id
    refused(db, cookie, at + timedelta(minutes=15))
    unknown = "x" * 43
    refused(db, unknown, NOW)


def test_absolute_timeout(db: Database, account: Account) -> None:
    cookie = open_session(db, account)
    at = NOW
    while at + timedelta(minutes=10) < NOW + timedelta(hours=12):
        at += timedelta(minutes=10)
        assert check(db, cookie, at) == account.user_id
    refused(db, cookie, NOW + timedelta(hours=12))


def test_custom_policy(db: Database, account: Account) -> None:
    cookie = open_session(db, account)
    policy = sessions.SessionPolicy(idle=timedelta(minutes=5), absolute=timedelta(hours=1))
    with db.transaction() as session, pytest.raises(AuthenticationFailed):
        sessions.validate_session(session, cookie, now=NOW + timedelta(minutes=6), policy=policy)


def test_revoke_one(db: Database, account: Account) -> None:
    first = open_session(db, account)
    second = open_session(db, account, NOW + timedelta(seconds=30))
    at = NOW + timedelta(minutes=1)
    with db.transaction() as session:
        row, _ = sessions.validate_session(session, first, now=at)
        sessions.revoke_session(session, row=row, reason="sign-out", now=at)
    refused(db, first, at)
    assert check(db, second, at) == account.user_id
    revoked = events(db, "session.revoke")
    assert len(revoked) == 1 and revoked[0].reason == "sign-out"
    assert revoked[0].session_id is not None


def test_revoke_all_and_disable(db: Database, account: Account) -> None:
    cookies = [open_session(db, account, NOW + timedelta(seconds=30 * i)) for i in range(3)]
    at = NOW + timedelta(minutes=2)
    with db.transaction() as session:
        user = session.get(User, account.user_id)
        assert user is not None
        count = sessions.revoke_user_sessions(
            session, user=user, reason="security officer", now=at, how="web"
        )
    assert count == 3
    for cookie in cookies:
        refused(db, cookie, at)
    assert events(db, "session.revoke_all")[0].details["sessions"] != []

    cookie = open_session(db, account, at + timedelta(seconds=30))
    with db.transaction() as session:
        service.disable_account(session, username=account.username, now=at, how="cli")
    refused(db, cookie, at + timedelta(minutes=1))


def test_csrf_tokens(db: Database, account: Account) -> None:
    first = open_session(db, account)
    second = open_session(db, account, NOW + timedelta(seconds=30))
    with db.transaction() as session:
        row_a, _ = sessions.validate_session(session, first, now=NOW + timedelta(minutes=1))
        row_b, _ = sessions.validate_session(session, second, now=NOW + timedelta(minutes=1))
        token = sessions.make_csrf_token(row_a)
        assert sessions.make_csrf_token(row_a) != token  # a fresh nonce each time
        assert sessions.check_csrf_token(row_a, token)
        assert not sessions.check_csrf_token(row_b, token)
        nonce, mac = token.split(".")
        assert not sessions.check_csrf_token(row_a, f"{nonce}x.{mac}")
        for bad in (None, "", "no-dot", "a.b.c"):
            assert not sessions.check_csrf_token(row_a, bad)
