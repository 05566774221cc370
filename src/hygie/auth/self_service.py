"""What a signed-in account does with its own access: see its roles, list and end its
sessions, issue, list and revoke its API tokens. Each function is one unit of work; each
change, and each refused attempt on a session or token that is not the caller's, is in
the trail."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from hygie.auth import sessions, tokens, trail
from hygie.auth.callers import Caller, Client
from hygie.auth.service import unit_of_work
from hygie.db import Database
from hygie.errors import NotFoundError
from hygie.models import ApiToken, User, WebSession
from hygie.storage import organisation as org_store


@dataclass(frozen=True)
class Post:
    """The roles an account holds today in one establishment."""

    establishment_id: int
    finess: str
    name: str
    roles: list[str]


def posts(db: Database, caller: Caller) -> list[Post]:
    with db.sessions() as session:
        found = [
            Post(e.id, e.finess, e.name, sorted(r.value for r in caller.actor.roles[e.id]))
            for e in org_store.establishments(session)
            if caller.actor.roles.get(e.id)
        ]
    return sorted(found, key=lambda p: p.establishment_id)


# --- sessions -----------------------------------------------------------------------------
def open_sessions(
    db: Database,
    caller: Caller,
    *,
    now: datetime,
    policy: sessions.SessionPolicy = sessions.DEFAULT_POLICY,
) -> list[WebSession]:
    """The caller's sessions that are still live, newest first."""
    with db.sessions() as session:
        rows = session.scalars(
            select(WebSession)
            .where(
                WebSession.user_id == caller.user_id,
                WebSession.revoked_at.is_(None),
                WebSession.created_at > now - policy.absolute,
                WebSession.last_seen_at > now - policy.idle,
            )
            .order_by(WebSession.created_at.desc(), WebSession.id.desc())
        )
        return list(rows)


def sign_out(db: Database, caller: Caller, *, client: Client, now: datetime, how: str) -> None:
    """End the caller's own session."""
    if caller.web_session is None:
        raise NotFoundError("no session to end: API tokens are revoked instead", field="session")
    end_session(db, caller, caller.web_session.id, client=client, now=now, how=how)


def end_session(
    db: Database, caller: Caller, session_id: int, *, client: Client, now: datetime, how: str
) -> None:
    """End one of the caller's live sessions (NotFoundError, recorded, for any other)."""
    with unit_of_work(db) as session:
        row = session.get(WebSession, session_id, with_for_update=True)
        if row is not None and row.user_id == caller.user_id and row.revoked_at is None:
            reason = "signed out" if _is_current(caller, session_id) else "ended by its holder"
            sessions.revoke_session(
                session, row=row, reason=reason, now=now, how=how, ip=client.ip,
                user_agent=client.user_agent,
            )  # fmt: skip
            return
    _refuse(db, caller, action="session.revoke", client=client, now=now, how=how,
            reason=f"no open session #{session_id} of this account")  # fmt: skip
    raise NotFoundError(f"you have no open session #{session_id}", field="session_id")


def end_other_sessions(
    db: Database, caller: Caller, *, client: Client, now: datetime, how: str
) -> int:
    """End every live session of the caller's account but the one making the request."""
    keep = caller.web_session.id if caller.web_session is not None else None
    with unit_of_work(db) as session:
        user = session.get(User, caller.user_id)
        if user is None:  # the account row cannot vanish (no deletion), but say so if it did
            raise NotFoundError("no such account", field="username")
        return sessions.revoke_user_sessions(
            session, user=user, reason="ended by its holder", now=now, how=how, keep=keep,
            ip=client.ip, user_agent=client.user_agent,
        )  # fmt: skip


def _is_current(caller: Caller, session_id: int) -> bool:
    return caller.web_session is not None and caller.web_session.id == session_id


# --- tokens -------------------------------------------------------------------------------
def issue_token(
    db: Database,
    caller: Caller,
    *,
    ttl_seconds: int,
    scope: str,
    client: Client,
    now: datetime,
    how: str,
) -> tokens.IssuedToken:
    """A new token for the caller's account (recorded by :func:`tokens.issue_token`)."""
    ttl = tokens.check_ttl(ttl_seconds)
    tokens.check_scope(scope)
    with unit_of_work(db) as session:
        user = session.get(User, caller.user_id)
        if user is None:
            raise NotFoundError("no such account", field="username")
        return tokens.issue_token(
            session, user=user, scope=scope, ttl=ttl, now=now, how=how, ip=client.ip,
            user_agent=client.user_agent,
            details={"session_id": str(caller.web_session.id if caller.web_session else "")},
        )  # fmt: skip


def live_tokens(db: Database, caller: Caller, *, now: datetime) -> list[ApiToken]:
    """The caller's tokens that are neither revoked nor expired, newest first."""
    with db.sessions() as session:
        rows = session.scalars(
            select(ApiToken)
            .where(
                ApiToken.user_id == caller.user_id,
                ApiToken.revoked_at.is_(None),
                ApiToken.expires_at > now,
            )
            .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
        )
        return list(rows)


def revoke_token(
    db: Database, caller: Caller, token_id: int, *, client: Client, now: datetime, how: str
) -> None:
    """Revoke one of the caller's live tokens (NotFoundError, recorded, for any other)."""
    with unit_of_work(db) as session:
        row = session.get(ApiToken, token_id, with_for_update=True)
        if (
            row is not None
            and row.user_id == caller.user_id
            and row.revoked_at is None
            and row.expires_at > now
        ):
            tokens.revoke_token(
                session, token=row, now=now, how=how, reason="revoked by its holder",
                ip=client.ip, user_agent=client.user_agent,
            )  # fmt: skip
            return
    _refuse(db, caller, action="token.revoke", client=client, now=now, how=how,
            reason=f"no live token #{token_id} of this account")  # fmt: skip
    raise NotFoundError(f"you have no live token #{token_id}", field="token_id")


def _refuse(
    db: Database,
    caller: Caller,
    *,
    action: str,
    client: Client,
    now: datetime,
    how: str,
    reason: str,
) -> None:
    """Record a refused attempt on a session or token, in a unit of work of its own."""
    with unit_of_work(db) as session:
        trail.note(
            session, action=action, outcome="denied", how=how, now=now,
            user=session.get(User, caller.user_id), ip=client.ip, user_agent=client.user_agent,
            session_id=caller.web_session.id if caller.web_session else None,
            token_id=caller.token.id if caller.token else None, reason=reason,
        )  # fmt: skip


# --- step-up ------------------------------------------------------------------------------
STEP_UP_REFUSED = "wrong or reused code: type the current code from your authenticator app"


def step_up(
    db: Database, caller: Caller, *, totp_code: str, client: Client, now: datetime, how: str
) -> datetime:
    """Confirm a fresh second factor in the caller's session, when containment asks for it
    (an unusual volume of access): the session's MFA time moves to ``now`` and the account
    is not asked again for a while (``containment.STEP_UP_GRACE``). A wrong or replayed
    code is refused and recorded; it counts toward the sign-in throttle like any other."""
    from hygie.access.containment import guard_for
    from hygie.auth import totp
    from hygie.auth.errors import AuthenticationFailed
    from hygie.models import Credential

    if caller.web_session is None:
        raise NotFoundError("a token cannot step up: use a signed-in session", field="session")
    with unit_of_work(db) as session:
        row = session.get(WebSession, caller.web_session.id, with_for_update=True)
        cred = session.get(Credential, caller.user_id, with_for_update=True)
        user = session.get(User, caller.user_id)
        step = None
        if row is not None and cred is not None and cred.totp_secret is not None:
            step = totp.accepted_step(
                cred.totp_secret, totp_code or "", now=now, last_step=cred.totp_last_step
            )
        if row is None or cred is None or step is None:
            trail.note(
                session, action="session.step_up", outcome="denied", how=how, now=now,
                user=user, ip=client.ip, user_agent=client.user_agent,
                session_id=caller.web_session.id, reason="wrong or reused TOTP code",
            )  # fmt: skip
            failed = True
        else:
            cred.totp_last_step = step
            row.mfa_at = now
            trail.note(
                session, action="session.step_up", outcome="allowed", how=how, now=now,
                user=user, ip=client.ip, user_agent=client.user_agent, session_id=row.id,
            )  # fmt: skip
            failed = False
    if failed:
        raise AuthenticationFailed(STEP_UP_REFUSED)
    guard_for(db.engine).stepped_up(caller.user_id, now)
    return now
