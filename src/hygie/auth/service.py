"""Signing in, enrolling the second factor, creating and disabling accounts.

Every function writes its audit event in the caller's session. A refusal raises
:class:`AuthenticationFailed` with one generic message *after* writing its trace (failure
counters, audit event): open the unit of work with :func:`unit_of_work`, which commits that
trace even though the request fails — otherwise failed attempts would not be counted.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from hygie.auth import passwords, throttle, totp, trail
from hygie.auth.errors import SIGN_IN_BLOCKED, SIGN_IN_FAILED, AuthenticationFailed
from hygie.auth.sessions import NewSession, create_session, revoke_user_sessions
from hygie.auth.tokens import revoke_user_tokens
from hygie.db import Database
from hygie.errors import NotFoundError, ValidationError
from hygie.kit.identifiers import parse_finess
from hygie.kit.time import local_date
from hygie.models import AccountKind, Credential, Profession, RecoveryCode, Role, User
from hygie.staff import service as staff
from hygie.storage import organisation as org_store
from hygie.storage import staff as staff_store

ROLE_PROFESSION = {
    Role.PHYSICIAN: Profession.PHYSICIAN,
    Role.NURSE: Profession.NURSE,
    Role.SECRETARY: Profession.SECRETARY,
    Role.BILLING_OFFICER: Profession.BILLING_OFFICER,
    Role.PHARMACIST: Profession.PHARMACIST,
    Role.IT_ADMIN: Profession.IT_STAFF,
    Role.SECURITY_OFFICER: Profession.SECURITY_STAFF,
}
SECURITY_LOG = logging.getLogger("hygie.security")
_PLAIN_USERNAME = re.compile(r"^[a-z][a-z0-9._-]{2,63}$")


@contextmanager
def unit_of_work(db: Database) -> Iterator[Session]:
    """Like ``Database.transaction``, except that an AuthenticationFailed raised inside
    commits what was written (the refusal's trace) before it propagates."""
    with db.sessions() as session:
        session.begin()
        try:
            yield session
        except AuthenticationFailed:
            session.commit()
            raise
        except BaseException:
            session.rollback()
            raise
        session.commit()


# --- signing in ---------------------------------------------------------------------------
def authenticate(
    session: Session,
    *,
    username: str,
    password: str,
    totp_code: str | None = None,
    recovery_code: str | None = None,
    ip: str | None,
    user_agent: str | None,
    now: datetime,
    how: str = "web",
    policy: throttle.ThrottlePolicy = throttle.DEFAULT_POLICY,
) -> User:
    """The human account that ``username``, ``password`` and a second factor (a TOTP code,
    or one of its recovery codes) prove; AuthenticationFailed otherwise."""
    return _sign_in(
        session,
        mode="login",
        username=username,
        password=password,
        totp_code=totp_code,
        recovery_code=recovery_code,
        ip=ip,
        user_agent=user_agent,
        now=now,
        how=how,
        policy=policy,
    )


def complete_enrolment(
    session: Session,
    *,
    username: str,
    password: str,
    totp_code: str,
    ip: str | None,
    user_agent: str | None,
    now: datetime,
    how: str = "web",
    policy: throttle.ThrottlePolicy = throttle.DEFAULT_POLICY,
) -> User:
    """Finish a pending TOTP enrolment: the password and a first code from the secret handed
    to the account holder prove it. The only thing an account without MFA can do."""
    return _sign_in(
        session,
        mode="enrol",
        username=username,
        password=password,
        totp_code=totp_code,
        recovery_code=None,
        ip=ip,
        user_agent=user_agent,
        now=now,
        how=how,
        policy=policy,
    )


def start_first_sign_in(
    session: Session,
    *,
    username: str,
    password: str,
    ip: str | None,
    user_agent: str | None,
    now: datetime,
    how: str = "web",
    policy: throttle.ThrottlePolicy = throttle.DEFAULT_POLICY,
) -> User:
    """A first sign-in: the password of an account whose TOTP enrolment is pending proves
    enough to enrol a second factor, and nothing more (counted and throttled like any
    sign-in)."""
    return _sign_in(
        session, mode="enrol_start", username=username, password=password, totp_code=None,
        recovery_code=None, ip=ip, user_agent=user_agent, now=now, how=how, policy=policy,
    )  # fmt: skip


def login(
    db: Database,
    *,
    username: str,
    password: str,
    totp_code: str | None = None,
    recovery_code: str | None = None,
    ip: str | None,
    user_agent: str | None,
    now: datetime,
) -> tuple[User, NewSession]:
    """Authenticate and open a new web session, in one unit of work."""
    with unit_of_work(db) as session:
        user = authenticate(
            session,
            username=username,
            password=password,
            totp_code=totp_code,
            recovery_code=recovery_code,
            ip=ip,
            user_agent=user_agent,
            now=now,
        )
        new = create_session(session, user=user, now=now, ip=ip, user_agent=user_agent, mfa_at=now)
    return user, new


@dataclass
class _Attempt:
    session: Session
    mode: Literal["login", "enrol", "enrol_start"]
    name: str
    ip: str | None
    user_agent: str | None
    now: datetime
    how: str
    user: User | None = None
    credential: Credential | None = None

    @property
    def action(self) -> str:
        return {"login": "auth.login", "enrol": "mfa.enrol", "enrol_start": "mfa.enrol_start"}[
            self.mode
        ]

    def note(self, outcome: str, reason: str | None = None, **details: Any) -> None:
        if self.user is None:
            shown = self.name[:64] if _PLAIN_USERNAME.match(self.name) else "(malformed)"
            details["attempted_username"] = shown
        trail.note(
            self.session,
            action=self.action,
            outcome=outcome,
            how=self.how,
            now=self.now,
            user=self.user,
            ip=self.ip,
            user_agent=self.user_agent,
            reason=reason,
            details=details,
        )


def _sign_in(
    session: Session,
    *,
    mode: Literal["login", "enrol", "enrol_start"],
    username: str,
    password: str,
    totp_code: str | None,
    recovery_code: str | None,
    ip: str | None,
    user_agent: str | None,
    now: datetime,
    how: str,
    policy: throttle.ThrottlePolicy,
) -> User:
    attempt = _Attempt(session, mode, username.strip().lower(), ip, user_agent, now, how)
    keys = [throttle.account_key(attempt.name), throttle.address_key(ip)]
    if 0 < len(attempt.name) <= 64:
        attempt.user = staff_store.user_by_username(session, attempt.name)
    if attempt.user is not None:
        attempt.credential = session.get(Credential, attempt.user.id, with_for_update=True)
    blocked = throttle.blocked_keys(session, keys, now=now)
    if blocked:
        attempt.note("denied", "blocked after too many failures", blocked=sorted(blocked))
        raise AuthenticationFailed(SIGN_IN_BLOCKED)

    cred = attempt.credential
    user = attempt.user
    if cred is None or user is None:
        passwords.burn_verification_time(password)
        return _fail(session, attempt, keys, policy, "unknown account or no password")
    if not passwords.verify_password(cred.password_hash, password):
        return _fail(session, attempt, keys, policy, "wrong password")
    if not user.active:
        return _fail(session, attempt, keys, policy, "account disabled")
    if user.locked_at is not None:
        return _fail(session, attempt, keys, policy, "account locked by containment")
    if user.kind != AccountKind.HUMAN:
        return _fail(session, attempt, keys, policy, "system account")
    pending = cred.totp_secret is not None and cred.totp_enrolled_at is None
    enrolled = cred.totp_secret is not None and cred.totp_enrolled_at is not None
    if mode in ("enrol", "enrol_start") and not pending:
        return _fail(session, attempt, keys, policy, "no TOTP enrolment pending")
    if mode == "login" and not enrolled:
        return _fail(session, attempt, keys, policy, "TOTP not enrolled")
    if mode == "enrol_start":
        # The password alone opens only the enrolment itself (a session without MFA that
        # nothing else accepts): the holder then proves a first code of a new secret.
        throttle.clear(session, keys[0])
        cred.failed_logins = 0
        cred.locked_until = None
        session.flush()
        attempt.note("allowed", factor="password")
        return user

    factor: str
    used_code: RecoveryCode | None = None
    step: int | None = None
    if totp_code and cred.totp_secret is not None:
        step = totp.accepted_step(
            cred.totp_secret, totp_code, now=now, last_step=cred.totp_last_step
        )
        if step is None:
            replayed = totp.accepted_step(cred.totp_secret, totp_code, now=now, last_step=None)
            reason = "TOTP code already used" if replayed is not None else "wrong TOTP code"
            return _fail(session, attempt, keys, policy, reason)
        factor = "totp"
    elif recovery_code and mode == "login":
        used_code = session.scalars(
            select(RecoveryCode).where(
                RecoveryCode.user_id == user.id,
                RecoveryCode.code_hash == totp.hash_recovery_code(recovery_code),
                RecoveryCode.used_at.is_(None),
            )
        ).first()
        if used_code is None:
            return _fail(session, attempt, keys, policy, "wrong or used recovery code")
        factor = "recovery_code"
    else:
        return _fail(session, attempt, keys, policy, "second factor missing")

    # Success: consume the factor, forget the account's failures, keep the hash current.
    throttle.clear(session, keys[0])
    cred.failed_logins = 0
    cred.locked_until = None
    if step is not None:
        cred.totp_last_step = step
    if used_code is not None:
        used_code.used_at = now
    if mode == "enrol":
        cred.totp_enrolled_at = now
    rehashed = passwords.needs_rehash(cred.password_hash)
    if rehashed:
        cred.password_hash = passwords.HASHER.hash(passwords.normalise(password))
    user.last_login_at = now
    session.flush()
    attempt.note("allowed", factor=factor, rehashed=rehashed)
    if used_code is not None:
        left = session.scalars(
            select(RecoveryCode.id).where(
                RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)
            )
        ).all()
        trail.note(
            session,
            action="mfa.recovery_code_used",
            outcome="allowed",
            how=how,
            now=now,
            user=user,
            ip=ip,
            user_agent=user_agent,
            details={"codes_left": len(left)},
        )
    return user


def _fail(
    session: Session,
    attempt: _Attempt,
    keys: list[str],
    policy: throttle.ThrottlePolicy,
    reason: str,
) -> User:
    """Count the failure, record it (and any lockout it causes), and refuse."""
    newly_blocked = throttle.register_failure(session, keys, now=attempt.now, policy=policy)
    cred = attempt.credential
    if cred is not None:
        cred.failed_logins += 1
        if keys[0] in newly_blocked:
            cred.locked_until = newly_blocked[keys[0]]
    attempt.note("denied", reason)
    for key, until in newly_blocked.items():
        kind = "account" if key.startswith("user:") else "address"
        trail.note(
            session,
            action="auth.lockout",
            outcome="contained",
            how=attempt.how,
            now=attempt.now,
            user=attempt.user if kind == "account" else None,
            ip=attempt.ip,
            user_agent=attempt.user_agent,
            reason=f"too many failed sign-ins for this {kind}",
            details={"key": key, "blocked_until": until.isoformat()},
        )
        # The security officer's alert channel (syslog/SIEM through the logging set-up);
        # the security console (containment issue) reads the same events from the trail.
        SECURITY_LOG.warning(
            "sign-in lockout: %s %s blocked until %s after repeated failures (from %s)",
            kind, key.partition(":")[2], until.isoformat(), attempt.ip or "unknown address",
        )  # fmt: skip
    raise AuthenticationFailed(SIGN_IN_FAILED)


# --- enrolment ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Enrolment:
    secret: str
    uri: str  # otpauth://totp/Hygie:USERNAME?secret=...&issuer=Hygie
    recovery_codes: list[str]  # shown once; stored hashed


def start_enrolment(
    session: Session, *, user: User, now: datetime, how: str, record: bool = True
) -> Enrolment:
    """A new TOTP secret and recovery codes for ``user``; until the holder proves a first
    code (:func:`complete_enrolment`), the account cannot sign in."""
    cred = session.get(Credential, user.id, with_for_update=True)
    if cred is None:
        raise NotFoundError(f"account {user.username} has no password", field="username")
    if user.kind != AccountKind.HUMAN:
        raise ValidationError("system accounts do not sign in", field="username")
    secret = totp.new_secret()
    cred.totp_secret = secret
    cred.totp_enrolled_at = None
    cred.totp_last_step = None
    codes = totp.new_recovery_codes()
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    session.add_all(
        RecoveryCode(user_id=user.id, code_hash=totp.hash_recovery_code(c)) for c in codes
    )
    session.flush()
    if not record:  # the caller records it within its own event (account creation)
        return Enrolment(secret=secret, uri=totp.provisioning_uri(secret, user.username),
                         recovery_codes=codes)  # fmt: skip
    trail.note(
        session,
        action="mfa.enrolment_start",
        outcome="allowed",
        how=how,
        now=now,
        user=user,
        details={"recovery_codes": len(codes)},
    )
    return Enrolment(
        secret=secret, uri=totp.provisioning_uri(secret, user.username), recovery_codes=codes
    )


# --- accounts -----------------------------------------------------------------------------
@dataclass(frozen=True)
class NewAccount:
    user: User
    generated_password: str | None  # when none was given; shown once
    enrolment: Enrolment


def create_account(
    session: Session,
    *,
    username: str,
    role: str,
    establishments: Sequence[str],
    password: str | None,
    now: datetime,
    how: str,
    display_name: str | None = None,
    rpps: str | None = None,
    family_name: str | None = None,
    given_name: str | None = None,
    operator: str | None = None,
    record_as: Callable[[Session, User, dict[str, Any]], None] | None = None,
) -> NewAccount:
    """A human account with a password, one habilitation per establishment (FINESS) valid
    from today, optionally its professional identity, and a pending TOTP enrolment."""
    name = username.strip().lower()
    try:
        role_value = Role(role)
    except ValueError:
        allowed = ", ".join(r.value for r in Role)
        raise ValidationError(f"unknown role (one of {allowed})", field="role") from None
    if role_value not in ROLE_PROFESSION:  # the interface role: system accounts only
        raise ValidationError(f"the {role_value.value} role is for system accounts", field="role")
    if not establishments:
        raise ValidationError("at least one establishment (FINESS)", field="establishment")
    establishment_ids: list[int] = []
    for raw in establishments:
        finess = parse_finess(raw, field="establishment")
        found = org_store.establishment_by_finess(session, finess)
        if found is None:
            raise NotFoundError(f"no establishment with FINESS {finess}", field="establishment")
        if found.id not in establishment_ids:
            establishment_ids.append(found.id)
    generated = None
    if password is None:
        generated = password = passwords.generate_password()
    password_hash = passwords.hash_password(password, username=name)
    if rpps is not None and (family_name is None or given_name is None):
        raise ValidationError("--rpps needs --family-name and --given-name", field="rpps")

    professional_id = None
    if family_name is not None or given_name is not None:
        if family_name is None or given_name is None:
            raise ValidationError("give both --family-name and --given-name", field="family_name")
        professional = staff.create_professional(
            session,
            profession=ROLE_PROFESSION[role_value].value,
            family_name=family_name,
            given_name=given_name,
            rpps=rpps,
        )
        professional_id = professional.id
        display_name = display_name or professional.display_name
    user = staff.create_user(
        session,
        username=name,
        display_name=display_name or name,
        professional_id=professional_id,
    )
    today = local_date(now)
    for establishment_id in establishment_ids:
        staff.grant_habilitation(
            session,
            user_id=user.id,
            establishment_id=establishment_id,
            role=role_value.value,
            valid_from=today,
        )
    session.add(Credential(user_id=user.id, password_hash=password_hash, password_changed_at=now))
    session.flush()
    details: dict[str, Any] = {
        "role": role_value.value,
        "establishment_ids": establishment_ids,
        "professional_id": professional_id,
        "operator": operator,
    }
    if record_as is not None:  # the gate records it, enrolment included, as its actor's access
        enrolment = start_enrolment(session, user=user, now=now, how=how, record=False)
        record_as(session, user, {**details, "mfa": "enrolment pending"})
        return NewAccount(user=user, generated_password=generated, enrolment=enrolment)
    else:
        trail.note(
            session, action="account.create", outcome="allowed", how=how, now=now, user=user,
            details=details,
        )  # fmt: skip
    enrolment = start_enrolment(session, user=user, now=now, how=how)
    return NewAccount(user=user, generated_password=generated, enrolment=enrolment)


def change_password(
    session: Session, *, user: User, new_password: str, now: datetime, how: str
) -> None:
    """Set a new password (checked against the policy) and end the account's sessions."""
    cred = session.get(Credential, user.id, with_for_update=True)
    if cred is None:
        raise NotFoundError(f"account {user.username} has no password", field="username")
    cred.password_hash = passwords.hash_password(new_password, username=user.username)
    cred.password_changed_at = now
    trail.note(
        session, action="account.password_change", outcome="allowed", how=how, now=now, user=user
    )
    revoke_user_sessions(session, user=user, reason="password changed", now=now, how=how)


@dataclass(frozen=True)
class Disabled:
    user: User
    was_active: bool
    sessions_revoked: int
    tokens_revoked: int


def disable_account(
    session: Session, *, username: str, now: datetime, how: str, operator: str | None = None
) -> Disabled:
    """Deactivate an account and revoke its sessions and tokens."""
    user = staff_store.user_by_username(session, username.strip().lower())
    if user is None:
        raise NotFoundError(f"no account named {username.strip().lower()}", field="username")
    was_active = user.active
    user.active = False
    session.flush()
    trail.note(
        session,
        action="account.disable",
        outcome="allowed",
        how=how,
        now=now,
        user=user,
        details={"was_active": was_active, "operator": operator},
    )
    reason = "account disabled"
    sessions = revoke_user_sessions(session, user=user, reason=reason, now=now, how=how)
    tokens = revoke_user_tokens(session, user=user, now=now, how=how, reason=reason)
    return Disabled(
        user=user, was_active=was_active, sessions_revoked=sessions, tokens_revoked=tokens
    )
