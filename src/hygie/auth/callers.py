"""Who is calling an HTTP entry point: signing in, and turning a session cookie or a bearer
token into the :class:`~hygie.access.actor.Actor` the gate is called with.

Each function is one unit of work (:func:`hygie.auth.service.unit_of_work`): a refusal's
trace (failed sign-in, token use, CSRF refusal) is committed even though the request fails.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import partial

from anyio import to_thread
from sqlalchemy.orm import Session

from hygie.access.actor import Actor, load_actor, make_actor
from hygie.auth import sessions, tokens, trail
from hygie.auth.errors import SESSION_INVALID, TOKEN_INVALID, AuthenticationFailed
from hygie.auth.service import authenticate, complete_enrolment, unit_of_work
from hygie.db import Database
from hygie.models import AccountKind, Credential, User, WebSession

CSRF_INVALID = "missing or invalid CSRF token: reload the page and try again"
IP_LENGTH = 64  # the width of the ``ip`` columns (sessions and trail)
USER_AGENT_LENGTH = 400  # the width of the ``user_agent`` columns


class CsrfRefused(AuthenticationFailed):
    """A state-changing request with a session cookie but no valid CSRF token (HTTP 403)."""

    status_code = 403

    def __init__(self) -> None:
        super().__init__(CSRF_INVALID)


@dataclass(frozen=True)
class Client:
    """Where a request comes from, as the trail records it."""

    ip: str | None
    user_agent: str | None

    @classmethod
    def of(cls, ip: str | None, user_agent: str | None) -> Client:
        return cls(
            (ip or None) and ip[:IP_LENGTH], (user_agent or None) and user_agent[:USER_AGENT_LENGTH]
        )


@dataclass(frozen=True)
class TokenRef:
    """The API token that proved a request."""

    id: int
    scope: str


@dataclass(frozen=True)
class Caller:
    """An authenticated request: the actor, and the session or token that proved it."""

    actor: Actor
    user_id: int
    web_session: WebSession | None = None  # detached; for the CSRF check and sign-out
    token: TokenRef | None = None


@dataclass(frozen=True)
class SignedIn:
    user: User
    web_session: WebSession
    cookie_value: str  # set as the cookie; never stored
    csrf_token: str


def sign_in(
    db: Database,
    *,
    username: str,
    password: str,
    totp_code: str | None,
    recovery_code: str | None,
    enrol: bool,
    client: Client,
    now: datetime,
    how: str,
) -> SignedIn:
    """Authenticate (or, with ``enrol``, finish a pending TOTP enrolment) and open a new
    session with a new id; AuthenticationFailed with one generic message otherwise."""
    with unit_of_work(db) as session:
        if enrol:
            user = complete_enrolment(
                session, username=username, password=password, totp_code=totp_code or "",
                ip=client.ip, user_agent=client.user_agent, now=now, how=how,
            )  # fmt: skip
        else:
            user = authenticate(
                session, username=username, password=password, totp_code=totp_code,
                recovery_code=recovery_code, ip=client.ip, user_agent=client.user_agent,
                now=now, how=how,
            )  # fmt: skip
        new = sessions.create_session(
            session, user=user, now=now, ip=client.ip, user_agent=client.user_agent,
            mfa_at=now, how=how,
        )  # fmt: skip
        csrf = sessions.make_csrf_token(new.row)
    return SignedIn(user=user, web_session=new.row, cookie_value=new.cookie_value, csrf_token=csrf)


def from_cookie(
    db: Database,
    cookie_value: str,
    *,
    csrf_token: str | None,
    needs_csrf: bool,
    client: Client,
    now: datetime,
    how: str,
    request_line: str,
    policy: sessions.SessionPolicy = sessions.DEFAULT_POLICY,
) -> Caller:
    """The caller behind a session cookie. Unknown, ended, idle or expired sessions, and
    accounts disabled or whose second factor is pending, are refused (401); so is a
    state-changing request (``needs_csrf``) without this session's CSRF token (403, in
    the trail with ``request_line``, e.g. ``"DELETE /api/session"``)."""
    with unit_of_work(db) as session:
        row, user = sessions.validate_session(session, cookie_value, now=now, policy=policy)
        if row.mfa_at is None or _mfa_pending(session, user):
            raise AuthenticationFailed(SESSION_INVALID)
        if needs_csrf and not sessions.check_csrf_token(row, csrf_token):
            trail.note(
                session, action="request.csrf", outcome="denied", how=how, now=now, user=user,
                ip=client.ip, user_agent=client.user_agent, session_id=row.id,
                reason="missing or invalid CSRF token", details={"request": request_line[:200]},
            )  # fmt: skip
            raise CsrfRefused
        actor = load_actor(
            session, username=user.username, how=how, session_id=row.id, ip=client.ip,
            user_agent=client.user_agent, now=now,
        )  # fmt: skip
    return Caller(actor=actor, user_id=user.id, web_session=row)


class _MfaPending(Exception):
    """Rolls back a token use that :func:`verify_token` recorded as allowed."""

    def __init__(self, user_id: int, token_id: int, scope: str) -> None:
        super().__init__(user_id, token_id, scope)
        self.user_id, self.token_id, self.scope = user_id, token_id, scope


def from_bearer(
    db: Database,
    secret: str,
    *,
    operation: str,
    client: Client,
    now: datetime,
    how: str,
    record_allowed: bool = True,
) -> Caller:
    """The caller behind a bearer token whose scope allows ``operation`` (read or write);
    its use is recorded either way (401 invalid, 403 out of scope), except an allowed use
    when ``record_allowed`` is False (see ``tokens.verify_token``)."""
    try:
        with unit_of_work(db) as session:
            token, user = tokens.verify_token(
                session, secret, operation=operation, now=now, ip=client.ip,
                user_agent=client.user_agent, how=how, record_allowed=record_allowed,
            )  # fmt: skip
            if _mfa_pending(session, user):
                raise _MfaPending(user.id, token.id, token.scope)
            actor = load_actor(
                session, username=user.username, how=how, token_id=token.id,
                token_scope=token.scope, ip=client.ip, user_agent=client.user_agent, now=now,
                user=user,
            )  # fmt: skip
    except _MfaPending as pending:
        # The allowed use was rolled back with the unit of work: record the refusal alone.
        with unit_of_work(db) as session:
            trail.note(
                session, action="token.use", outcome="denied", how=how, now=now,
                user=session.get(User, pending.user_id), ip=client.ip,
                user_agent=client.user_agent, token_id=pending.token_id,
                reason="second factor enrolment pending",
                details={"operation": operation, "scope": pending.scope},
            )  # fmt: skip
        raise AuthenticationFailed(TOKEN_INVALID) from None
    return Caller(actor=actor, user_id=user.id, token=TokenRef(token.id, token.scope))


async def from_bearer_async(
    db: Database, secret: str, *, operation: str, client: Client, now: datetime, how: str
) -> Caller:
    """``from_bearer(..., record_allowed=False)`` for a coroutine. On the direct connections
    of the running loop (``Database.direct_here``) an allowed use is one statement
    (``tokens.live_token``); any other case, or no direct connections, goes the ORM way in
    the thread pool, which decides and records."""
    direct = db.direct_here()
    if direct is not None:
        async with direct.connection_without_patient_rows() as conn:
            live = await tokens.live_token(conn, secret, operation=operation, now=now)
        if live is not None:
            actor = make_actor(
                user_id=live.user_id, username=live.username, human=live.human,
                professional_id=live.professional_id, habilitations=live.habilitations,
                how=how, now=now, token_id=live.id, token_scope=live.scope, ip=client.ip,
                user_agent=client.user_agent,
            )  # fmt: skip
            return Caller(actor=actor, user_id=live.user_id, token=TokenRef(live.id, live.scope))
    check = partial(
        from_bearer, db, secret, operation=operation, client=client, now=now, how=how,
        record_allowed=False,
    )  # fmt: skip
    return await to_thread.run_sync(check)


def _mfa_pending(session: Session, user: User) -> bool:
    """Whether a human account has been given a TOTP secret it has not confirmed yet: it
    may do nothing but finish its enrolment. (Accounts without a password, which cannot
    sign in, and system accounts use tokens only.)"""
    if user.kind != AccountKind.HUMAN:
        return False
    cred = session.get(Credential, user.id)
    return cred is not None and cred.totp_secret is not None and cred.totp_enrolled_at is None
