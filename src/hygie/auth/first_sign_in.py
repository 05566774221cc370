"""First sign-in in a browser: the account holder enrols their own second factor.

1. ``start``: the password of an account whose TOTP enrolment is pending opens a short
   *enrolment session* (no MFA: every other page and route refuses it) and draws a new
   secret, so that only the holder's phone knows it (not the administrator who created the
   account).
2. ``pending``: what the enrolment page shows (the otpauth URI for the QR code and the
   secret to type by hand).
3. ``finish``: a first code of that secret (with the page's CSRF token) completes the
   enrolment, ends the enrolment session and opens a normal one (a new id: the privilege
   changed), and hands out new recovery codes, shown once.

Every step is in the trail (``mfa.enrol_start``, ``mfa.enrolment_start``, ``mfa.enrol``);
a wrong code is counted by the sign-in throttle like any failed sign-in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from hygie.auth import sessions, throttle, totp, trail
from hygie.auth.callers import Client
from hygie.auth.errors import (
    SESSION_INVALID,
    SIGN_IN_BLOCKED,
    SIGN_IN_FAILED,
    AuthenticationFailed,
)
from hygie.auth.service import start_enrolment, start_first_sign_in, unit_of_work
from hygie.db import Database
from hygie.models import Credential, RecoveryCode, User, WebSession

# Long enough to install an authenticator app, short enough to be useless if left open.
ENROLMENT_WINDOW = timedelta(minutes=15)


@dataclass(frozen=True)
class Begun:
    cookie_value: str


@dataclass(frozen=True)
class Pending:
    username: str
    secret: str
    uri: str
    csrf_token: str


@dataclass(frozen=True)
class Finished:
    cookie_value: str
    recovery_codes: list[str]


def start(db: Database, *, username: str, password: str, client: Client, now: datetime,
          how: str = "web") -> Begun:  # fmt: skip
    with unit_of_work(db) as session:
        user = start_first_sign_in(
            session, username=username, password=password, ip=client.ip,
            user_agent=client.user_agent, now=now, how=how,
        )  # fmt: skip
        start_enrolment(session, user=user, now=now, how=how)
        # Only the newest enrolment session may see the secret just drawn: an older one
        # (someone else who had the password) is ended.
        _end_pending_sessions(session, user, now, how, client)
        new = sessions.create_session(
            session, user=user, now=now, ip=client.ip, user_agent=client.user_agent,
            mfa_at=None, how=how,
        )  # fmt: skip
    return Begun(new.cookie_value)


def _end_pending_sessions(session: Session, user: User, now: datetime, how: str,
                          client: Client, keep: int | None = None) -> None:  # fmt: skip
    for row in session.scalars(
        select(WebSession).where(
            WebSession.user_id == user.id, WebSession.mfa_at.is_(None),
            WebSession.revoked_at.is_(None),
        )
    ):  # fmt: skip
        if row.id != keep:
            sessions.revoke_session(session, row=row, reason="superseded enrolment", now=now,
                                    how=how, ip=client.ip, user_agent=client.user_agent)  # fmt: skip


def _enrolling(
    session: Session, cookie_value: str, now: datetime
) -> tuple[WebSession, User, Credential]:
    """The live enrolment session behind the cookie, its account and credential."""
    row, user = sessions.validate_session(session, cookie_value, now=now)
    cred = session.get(Credential, user.id, with_for_update=True)
    enrolling = (
        row.mfa_at is None and now - row.created_at <= ENROLMENT_WINDOW
        and cred is not None and cred.totp_secret is not None and cred.totp_enrolled_at is None
    )  # fmt: skip
    if not enrolling or cred is None:
        raise AuthenticationFailed(SESSION_INVALID)
    return row, user, cred


def pending(db: Database, *, cookie_value: str, now: datetime) -> Pending:
    with unit_of_work(db) as session:
        row, user, cred = _enrolling(session, cookie_value, now)
        secret = str(cred.totp_secret)
        return Pending(
            username=user.username, secret=secret,
            uri=totp.provisioning_uri(secret, user.username),
            csrf_token=sessions.make_csrf_token(row),
        )  # fmt: skip


def finish(db: Database, *, cookie_value: str, code: str, csrf_token: str | None,
           client: Client, now: datetime, how: str = "web") -> Finished:  # fmt: skip
    with unit_of_work(db) as session:
        row, user, cred = _enrolling(session, cookie_value, now)
        if not sessions.check_csrf_token(row, csrf_token):
            raise AuthenticationFailed(SESSION_INVALID)
        keys = [throttle.account_key(user.username), throttle.address_key(client.ip)]
        if throttle.blocked_keys(session, keys, now=now):
            raise AuthenticationFailed(SIGN_IN_BLOCKED)
        step = totp.accepted_step(str(cred.totp_secret), code.strip(), now=now, last_step=None)
        if step is None:
            _wrong_code(session, user, client, now, how)
        cred.totp_enrolled_at = now
        cred.totp_last_step = step
        throttle.clear(session, throttle.account_key(user.username))
        codes = totp.new_recovery_codes()
        session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
        session.add_all(
            RecoveryCode(user_id=user.id, code_hash=totp.hash_recovery_code(c)) for c in codes
        )
        user.last_login_at = now
        trail.note(
            session, action="mfa.enrol", outcome="allowed", how=how, now=now, user=user,
            ip=client.ip, user_agent=client.user_agent, session_id=row.id,
            details={"factor": "totp", "recovery_codes": len(codes)},
        )  # fmt: skip
        sessions.revoke_session(
            session, row=row, reason="enrolment finished", now=now, how=how, ip=client.ip,
            user_agent=client.user_agent,
        )  # fmt: skip
        _end_pending_sessions(session, user, now, how, client)
        new = sessions.create_session(
            session, user=user, now=now, ip=client.ip, user_agent=client.user_agent,
            mfa_at=now, how=how,
        )  # fmt: skip
    return Finished(new.cookie_value, codes)


def _wrong_code(session: Session, user: User, client: Client, now: datetime, how: str) -> None:
    keys = [throttle.account_key(user.username), throttle.address_key(client.ip)]
    throttle.register_failure(session, keys, now=now)
    trail.note(
        session, action="mfa.enrol", outcome="denied", how=how, now=now, user=user,
        ip=client.ip, user_agent=client.user_agent, reason="wrong TOTP code",
    )  # fmt: skip
    raise AuthenticationFailed(SIGN_IN_FAILED)
