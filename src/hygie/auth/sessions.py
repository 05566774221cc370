"""Server-side web sessions.

The cookie carries a random 256-bit id; the table keeps only its SHA-256, so a copy of the
database gives no usable session. A new id is made at every sign-in. A session ends after
15 minutes without activity or 12 hours after sign-in, whichever comes first, or when it is
revoked (sign-out, account disabled, security officer).

Each session has its own CSRF secret; forms carry ``make_csrf_token`` and state-changing
requests are checked with ``check_csrf_token`` (HMAC-SHA256, compared in constant time).
The cookie attributes (Secure, HttpOnly, SameSite=Strict) are in :data:`COOKIE`.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from hygie.auth import trail
from hygie.auth.errors import SESSION_INVALID, AuthenticationFailed
from hygie.models import User, WebSession

COOKIE = {"key": "hygie_session", "secure": True, "httponly": True, "samesite": "strict"}


@dataclass(frozen=True)
class SessionPolicy:
    idle: timedelta = timedelta(minutes=15)
    absolute: timedelta = timedelta(hours=12)


DEFAULT_POLICY = SessionPolicy()


@dataclass(frozen=True)
class NewSession:
    row: WebSession
    cookie_value: str  # shown once, to be set as the cookie; never stored


def _digest(raw_id: str) -> str:
    return hashlib.sha256(raw_id.encode()).hexdigest()


def create_session(
    session: Session,
    *,
    user: User,
    now: datetime,
    ip: str | None,
    user_agent: str | None,
    mfa_at: datetime | None,
    how: str = "web",
) -> NewSession:
    """Open a new session for ``user`` (just authenticated) and record it."""
    raw_id = secrets.token_urlsafe(32)
    row = WebSession(
        id_hash=_digest(raw_id),
        user_id=user.id,
        created_at=now,
        last_seen_at=now,
        mfa_at=mfa_at,
        ip=(ip or None) and ip[:64],
        user_agent=(user_agent or None) and user_agent[:400],
        csrf_secret=secrets.token_hex(32),
    )
    session.add(row)
    session.flush()
    trail.note(
        session,
        action="session.create",
        outcome="allowed",
        how=how,
        now=now,
        user=user,
        ip=ip,
        user_agent=user_agent,
        session_id=row.id,
    )
    return NewSession(row=row, cookie_value=raw_id)


def validate_session(
    session: Session, cookie_value: str, *, now: datetime, policy: SessionPolicy = DEFAULT_POLICY
) -> tuple[WebSession, User]:
    """The live session behind ``cookie_value`` and its account, its last activity moved to
    ``now``; AuthenticationFailed if it is unknown, revoked, idle or too old, or if the
    account is disabled."""
    found = session.execute(
        select(WebSession, User)
        .join(User, User.id == WebSession.user_id)
        .where(WebSession.id_hash == _digest(cookie_value))
    ).first()
    if found is None:
        raise AuthenticationFailed(SESSION_INVALID)
    row, user = found
    live = (
        row.revoked_at is None
        and user.active
        and user.locked_at is None
        and now - row.last_seen_at < policy.idle
        and now - row.created_at < policy.absolute
    )
    if not live:
        raise AuthenticationFailed(SESSION_INVALID)
    row.last_seen_at = now
    return row, user


def revoke_session(
    session: Session,
    *,
    row: WebSession,
    reason: str,
    now: datetime,
    how: str = "web",
    ip: str | None = None,
    user_agent: str | None = None,
) -> None:
    """End one session (sign-out, or a security officer's decision) and record it."""
    if row.revoked_at is not None:
        return
    row.revoked_at = now
    row.revoked_reason = reason[:200]
    session.flush()
    trail.note(
        session,
        action="session.revoke",
        outcome="allowed",
        how=how,
        now=now,
        user=session.get(User, row.user_id),
        ip=ip,
        user_agent=user_agent,
        session_id=row.id,
        reason=reason[:500],
    )


def revoke_user_sessions(
    session: Session,
    *,
    user: User,
    reason: str,
    now: datetime,
    how: str,
    keep: int | None = None,
    ip: str | None = None,
    user_agent: str | None = None,
) -> int:
    """End every live session of ``user`` but ``keep`` (the caller's own, when a user ends
    their other sessions); how many there were. One event records them."""
    ids = list(
        session.scalars(
            select(WebSession.id).where(
                WebSession.user_id == user.id,
                WebSession.revoked_at.is_(None),
                WebSession.id != (keep if keep is not None else -1),
            )
        )
    )
    if ids:
        session.execute(
            update(WebSession)
            .where(WebSession.id.in_(ids))
            .values(revoked_at=now, revoked_reason=reason[:200])
            .execution_options(synchronize_session="fetch")
        )
    trail.note(
        session,
        action="session.revoke_all",
        outcome="allowed",
        how=how,
        now=now,
        user=user,
        ip=ip,
        user_agent=user_agent,
        session_id=keep,
        reason=reason[:500],
        details={"sessions": ids},
    )
    return len(ids)


def make_csrf_token(row: WebSession) -> str:
    """A CSRF token for a form of this session: a random nonce and its HMAC."""
    nonce = secrets.token_urlsafe(16)
    return f"{nonce}.{_csrf_mac(row, nonce)}"


def check_csrf_token(row: WebSession, token: str | None) -> bool:
    """Whether ``token`` was made by :func:`make_csrf_token` for this session."""
    if not token or token.count(".") != 1:
        return False
    nonce, mac = token.split(".")
    return hmac.compare_digest(_csrf_mac(row, nonce), mac)


def _csrf_mac(row: WebSession, nonce: str) -> str:
    message = f"hygie-csrf:{row.id}:{nonce}".encode()
    return hmac.new(bytes.fromhex(row.csrf_secret), message, hashlib.sha256).hexdigest()
