"""API bearer tokens: issue, verify (expiry, revocation, scope, account), audit."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from sqlalchemy import select

from hygie.auth import service, tokens
from hygie.auth.errors import TOKEN_INVALID, AuthenticationFailed, ScopeDenied
from hygie.db import Database
from hygie.errors import ValidationError
from hygie.models import ApiToken, User
from tests.auth.conftest import NOW, Account, events


def issue(db: Database, account: Account, scope: str = "read", ttl=tokens.DEFAULT_TTL) -> str:  # type: ignore[no-untyped-def]
    with db.transaction() as session:
        user = session.get(User, account.user_id)
        assert user is not None
        issued = tokens.issue_token(session, user=user, scope=scope, ttl=ttl, now=NOW, how="cli")
        return issued.secret


def use(db: Database, secret: str, operation: str, at=NOW) -> int:  # type: ignore[no-untyped-def]
    """Verify as an entry point does: a refusal's trace is committed."""
    with service.unit_of_work(db) as session:
        _token, user = tokens.verify_token(
            session, secret, operation=operation, now=at, ip="192.0.2.1", user_agent="curl"
        )
        return user.id


def test_issue_stores_only_a_hash(db: Database, account: Account) -> None:
    secret = issue(db, account)
    assert secret.startswith("hyg_") and len(secret) >= 4 + 43  # 256 bits
    with db.sessions() as session:
        row = session.scalars(select(ApiToken)).one()
    assert row.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert row.expires_at == NOW + timedelta(hours=1)
    issued = events(db, "token.issue")
    assert len(issued) == 1
    assert (issued[0].user_id, issued[0].token_id, issued[0].how) == (
        account.user_id,
        row.id,
        "cli",
    )
    assert issued[0].details["scope"] == "read"


def test_scopes(db: Database, account: Account) -> None:
    read = issue(db, account, "read")
    write = issue(db, account, "write")
    assert use(db, read, "read") == account.user_id
    with pytest.raises(ScopeDenied):
        use(db, read, "write")
    assert use(db, write, "read") == use(db, write, "write") == account.user_id
    uses = events(db, "token.use")
    assert [e.outcome for e in uses] == ["allowed", "denied", "allowed", "allowed"]
    assert uses[1].reason == "scope read does not allow write"


def test_expiry(db: Database, account: Account) -> None:
    secret = issue(db, account, ttl=timedelta(minutes=5))
    assert use(db, secret, "read", NOW + timedelta(minutes=4, seconds=59)) == account.user_id
    with pytest.raises(AuthenticationFailed, match=TOKEN_INVALID):
        use(db, secret, "read", NOW + timedelta(minutes=5))
    assert events(db, "token.use")[-1].reason == "expired token"


def test_last_use_is_recorded(db: Database, account: Account) -> None:
    secret = issue(db, account)
    use(db, secret, "read", NOW + timedelta(minutes=3))
    with db.sessions() as session:
        assert session.scalars(select(ApiToken.last_used_at)).one() == NOW + timedelta(minutes=3)


def test_revocation(db: Database, account: Account) -> None:
    secret = issue(db, account)
    other = issue(db, account)
    with db.transaction() as session:
        row = session.scalars(
            select(ApiToken).where(
                ApiToken.token_hash == hashlib.sha256(secret.encode()).hexdigest()
            )
        ).one()
        tokens.revoke_token(session, token=row, now=NOW, how="web")
    with pytest.raises(AuthenticationFailed):
        use(db, secret, "read")
    assert use(db, other, "read") == account.user_id
    assert len(events(db, "token.revoke")) == 1


def test_disabled_account_tokens_are_dead(db: Database, account: Account) -> None:
    secret = issue(db, account)
    with db.transaction() as session:
        done = service.disable_account(session, username=account.username, now=NOW, how="cli")
    assert done.tokens_revoked == 1
    with pytest.raises(AuthenticationFailed):
        use(db, secret, "read")
    assert events(db, "token.use")[-1].reason == "revoked token"
    with db.transaction() as session, pytest.raises(ValidationError, match="disabled"):
        user = session.get(User, account.user_id)
        assert user is not None
        tokens.issue_token(
            session, user=user, scope="read", ttl=tokens.DEFAULT_TTL, now=NOW, how="cli"
        )


def test_unknown_tokens(db: Database, account: Account) -> None:
    for bad in ("hyg_" + "A" * 43, "Bearer something", ""):
        with pytest.raises(AuthenticationFailed, match=TOKEN_INVALID):
            use(db, bad, "read")
    unknown = events(db, "token.use")
    assert len(unknown) == 3 and all(e.reason == "unknown token" for e in unknown)


@pytest.mark.parametrize("seconds", [0, 59, 86_401, -5])
def test_ttl_bounds(seconds: int) -> None:
    with pytest.raises(ValidationError, match="ttl"):
        tokens.check_ttl(seconds)


def test_ttl_and_scope_accepted() -> None:
    assert tokens.check_ttl(86_400) == timedelta(hours=24)
    assert tokens.check_scope("write") == "write"
    with pytest.raises(ValidationError, match="scope"):
        tokens.check_scope("admin")
