"""API bearer tokens: short-lived, bound to one account, scoped, revocable, stored hashed.

A token is ``hyg_`` followed by 256 random bits (URL-safe base64). It is shown once, when
issued; the table keeps its SHA-256 only. Scope ``read`` allows reading; ``write`` allows
reading and writing. The account's habilitations still decide what the token may reach:
the token only says who is asking.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import psycopg
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from hygie.auth import trail
from hygie.auth.errors import TOKEN_INVALID, AuthenticationFailed, ScopeDenied
from hygie.errors import ValidationError
from hygie.models import AccountKind, ApiToken, Credential, User

PREFIX = "hyg_"
SCOPES = ("read", "write")
DEFAULT_TTL = timedelta(hours=1)
MIN_TTL = timedelta(minutes=1)
MAX_TTL = timedelta(hours=24)
_ALLOWS = {"read": {"read"}, "write": {"read", "write"}}


@dataclass(frozen=True)
class IssuedToken:
    row: ApiToken
    secret: str  # shown once; never stored


LAST_USED_PRECISION = timedelta(minutes=1)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def check_ttl(seconds: int) -> timedelta:
    ttl = timedelta(seconds=seconds)
    if not MIN_TTL <= ttl <= MAX_TTL:
        raise ValidationError(
            f"between {int(MIN_TTL.total_seconds())} and {int(MAX_TTL.total_seconds())} "
            "seconds (1 hour by default)",
            field="ttl",
        )
    return ttl


def check_scope(scope: str) -> str:
    if scope not in SCOPES:
        raise ValidationError(f"one of {', '.join(SCOPES)}", field="scope")
    return scope


def issue_token(
    session: Session,
    *,
    user: User,
    scope: str,
    ttl: timedelta,
    now: datetime,
    how: str,
    ip: str | None = None,
    user_agent: str | None = None,
    details: dict[str, str] | None = None,
) -> IssuedToken:
    """A new token for ``user`` (active), recorded in the trail."""
    check_scope(scope)
    check_ttl(int(ttl.total_seconds()))
    if not user.active:
        raise ValidationError(f"account {user.username} is disabled", field="username")
    secret = PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        token_hash=_digest(secret),
        user_id=user.id,
        scope=scope,
        created_at=now,
        expires_at=now + ttl,
    )
    session.add(row)
    session.flush()
    trail.note(
        session,
        action="token.issue",
        outcome="allowed",
        how=how,
        now=now,
        user=user,
        ip=ip,
        user_agent=user_agent,
        token_id=row.id,
        details={"scope": scope, "expires_at": row.expires_at.isoformat(), **(details or {})},
    )
    return IssuedToken(row=row, secret=secret)


def verify_token(
    session: Session,
    secret: str,
    *,
    operation: str,
    now: datetime,
    ip: str | None = None,
    user_agent: str | None = None,
    how: str = "api",
    record_allowed: bool = True,
) -> tuple[ApiToken, User]:
    """The token behind ``secret`` and its account, if the token is live and its scope
    allows ``operation`` (read or write); its use is recorded either way. Raises
    AuthenticationFailed (401) or ScopeDenied (403).

    ``record_allowed=False``: an allowed use is left for the access to record (its event
    names the token), so that a request costs one event and one durable commit; refusals
    are always recorded here. Whoever passes it must record every request it serves."""
    found = None
    if secret.startswith(PREFIX):
        # The account's credential comes along (into the session's identity map): the
        # caller checks its second factor next, with no query of its own.
        found = session.execute(
            select(ApiToken, User, Credential)
            .join(User, User.id == ApiToken.user_id)
            .outerjoin(Credential, Credential.user_id == User.id)
            .where(ApiToken.token_hash == _digest(secret))
        ).first()
    if found is None:
        trail.note(
            session,
            action="token.use",
            outcome="denied",
            how=how,
            now=now,
            ip=ip,
            user_agent=user_agent,
            reason="unknown token",
        )
        raise AuthenticationFailed(TOKEN_INVALID)
    token, user, _credential = found
    problem = None
    if token.revoked_at is not None:
        problem = "revoked token"
    elif now >= token.expires_at:
        problem = "expired token"
    elif not user.active:
        problem = "account disabled"
    elif user.locked_at is not None:
        problem = "account locked by containment"
    elif operation not in _ALLOWS.get(token.scope, set()):
        problem = f"scope {token.scope} does not allow {operation}"

    def _note(outcome: str, reason: str | None) -> None:
        trail.note(
            session,
            action="token.use",
            outcome=outcome,
            how=how,
            now=now,
            user=user,
            ip=ip,
            user_agent=user_agent,
            token_id=token.id,
            reason=reason,
            details={"operation": operation, "scope": token.scope},
        )

    if problem is not None or record_allowed:
        _note("denied" if problem else "allowed", problem)
    if problem is not None:
        if problem.startswith("scope"):
            raise ScopeDenied
        raise AuthenticationFailed(TOKEN_INVALID)
    # To the minute: a token in steady use does not rewrite its row at every request.
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_PRECISION:
        token.last_used_at = now
    return token, user


@dataclass(frozen=True)
class LiveToken:
    """A token found live, in scope, of an active account with no pending second factor:
    what a request needs of it and of its account (``live_token``)."""

    id: int
    scope: str
    user_id: int
    username: str
    human: bool
    professional_id: int | None
    # (establishment id, role, valid from, valid until) of each of the account's habilitations.
    habilitations: tuple[tuple[int, str, date, date | None], ...]


# One round trip: the token, its account, whether its second factor is pending, and its
# habilitations (one row each; one row with NULLs if it has none).
_LIVE = (
    "SELECT t.id, t.scope, t.expires_at, t.revoked_at, t.last_used_at, u.id, u.username, "
    "u.kind, u.active AND u.locked_at IS NULL, u.professional_id, "
    "(c.totp_secret IS NOT NULL AND c.totp_enrolled_at IS NULL), "
    "h.establishment_id, h.role, h.valid_from, h.valid_until "
    "FROM api_tokens t JOIN users u ON u.id = t.user_id "
    "LEFT JOIN credentials c ON c.user_id = u.id "
    "LEFT JOIN habilitations h ON h.user_id = u.id "
    "WHERE t.token_hash = %(hash)s ORDER BY h.id"
)
_TOUCH = "UPDATE api_tokens SET last_used_at = %(now)s WHERE id = %(id)s"


async def live_token(
    conn: psycopg.AsyncConnection[Any], secret: str, *, operation: str, now: datetime
) -> LiveToken | None:
    """The token behind ``secret`` if its use for ``operation`` is allowed, on a direct
    PostgreSQL connection (``hygie.db_direct``), its last use noted to the minute as
    ``verify_token`` does; None in every other case, which ``verify_token`` then decides
    and records. Nothing is recorded here: an allowed use is the access's to record."""
    if not secret.startswith(PREFIX):
        return None
    rows = await (await conn.execute(_LIVE, {"hash": _digest(secret)})).fetchall()
    if not rows:
        return None
    token_id, scope, expires_at, revoked_at, last_used_at, user_id, username, kind, active = rows[
        0
    ][:9]
    if (
        revoked_at is not None or now >= expires_at or not active
        or (rows[0][10] and kind == AccountKind.HUMAN.value)
        or operation not in _ALLOWS.get(scope, set())
    ):  # fmt: skip
        return None
    if last_used_at is None or now - last_used_at >= LAST_USED_PRECISION:
        await conn.execute(_TOUCH, {"now": now, "id": token_id})
    return LiveToken(
        id=token_id, scope=scope, user_id=user_id, username=username,
        human=kind == AccountKind.HUMAN.value, professional_id=rows[0][9],
        habilitations=tuple((r[11], r[12], r[13], r[14]) for r in rows if r[11] is not None),
    )  # fmt: skip


def revoke_token(
    session: Session,
    *,
    token: ApiToken,
    now: datetime,
    how: str,
    reason: str = "revoked",
    ip: str | None = None,
    user_agent: str | None = None,
) -> None:
    if token.revoked_at is not None:
        return
    token.revoked_at = now
    session.flush()
    trail.note(
        session,
        action="token.revoke",
        outcome="allowed",
        how=how,
        now=now,
        user=session.get(User, token.user_id),
        ip=ip,
        user_agent=user_agent,
        token_id=token.id,
        reason=reason[:500],
    )


def revoke_user_tokens(
    session: Session, *, user: User, now: datetime, how: str, reason: str
) -> int:
    """Revoke every live token of ``user``; how many there were. One event records them."""
    ids = list(
        session.scalars(
            select(ApiToken.id).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        )
    )
    if ids:
        session.execute(
            update(ApiToken)
            .where(ApiToken.id.in_(ids))
            .values(revoked_at=now)
            .execution_options(synchronize_session="fetch")
        )
    trail.note(
        session,
        action="token.revoke_all",
        outcome="allowed",
        how=how,
        now=now,
        user=user,
        reason=reason[:500],
        details={"tokens": ids},
    )
    return len(ids)
