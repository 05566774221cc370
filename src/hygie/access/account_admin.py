"""The IT administrator's screens through the gate: accounts with their habilitations and
second-factor state, granting and ending habilitations, disabling an account, restarting
its TOTP enrolment.

Like ``accounts``, every function decides with the ``accounts`` category in the
establishments concerned (an administrator of A touches nothing held in B), records the
access in the same transaction as the change, and records a refusal before raising it.
Outside the actor's establishments an account does not exist for them (not found, like a
patient). An administrator cannot disable or reset their own account, nor grant themselves
a role: a stolen administrator login must not be able to widen or hide itself alone."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from hygie.access import accounts, audit, directory
from hygie.access.actor import Actor
from hygie.access.gateway import AccessDenied, audit_entry, record_refusal
from hygie.access.policy import Action, Category
from hygie.access.scope import gate_transaction
from hygie.auth import service as auth
from hygie.auth.sessions import revoke_user_sessions
from hygie.auth.tokens import revoke_user_tokens
from hygie.db import Database
from hygie.errors import ConflictError, NotFoundError, ValidationError
from hygie.kit import clock
from hygie.kit.checks import check_day, check_id
from hygie.kit.text import strip_accents
from hygie.kit.time import local_date
from hygie.models import Credential, Habilitation, User
from hygie.staff import service as staff
from hygie.storage import account_admin as store
from hygie.storage import staff as staff_store

CATEGORIES = [Category.ACCOUNTS.value]
MAX_REASON = 500
MAX_FILTER = 100


@dataclass(frozen=True)
class Grant:
    """One habilitation as the administrator sees it."""

    id: int
    establishment_id: int
    role: str
    valid_from: date
    valid_until: date | None
    current: bool  # valid today (Paris)


@dataclass(frozen=True)
class Account:
    username: str
    display_name: str
    active: bool
    locked: bool  # stopped by containment: only a security officer unlocks it
    mfa: str  # "enrolled", "pending" (enrolment to finish at the next sign-in) or "none"
    last_login_at: datetime | None
    habilitations: tuple[Grant, ...]  # those in the actor's establishments only


@dataclass(frozen=True)
class Disabled:
    username: str
    sessions_revoked: int
    tokens_revoked: int


@dataclass(frozen=True)
class MfaReset:
    username: str
    sessions_revoked: int


# --- reading ------------------------------------------------------------------------------
def managed_establishments(
    db: Database, actor: Actor, *, write: bool = False
) -> list[directory.Place]:
    """The actor's establishments where they may read (or ``write``) accounts, by id: what
    the screens offer to choose from (the actor's own rights, nothing else to record)."""
    action = Action.WRITE if write else Action.READ
    places = directory.establishments(db)
    return [
        places[est] for est in sorted(actor.establishments)
        if est in places and accounts.may_manage(actor, action, frozenset({est}))
    ]  # fmt: skip


def accounts_overview(
    db: Database,
    actor: Actor,
    *,
    establishment_id: int,
    text: str | None = None,
    now: datetime | None = None,
) -> list[Account]:
    """The accounts habilitated in one establishment, one line each with its habilitations
    there and whether it is active and its TOTP enrolled; ``text`` keeps those whose login
    or name contains it (accents and case ignored)."""
    check_id(establishment_id, field="establishment_id")
    if text is not None and len(text) > MAX_FILTER:
        raise ValidationError("text too long", field="text")
    now = now or clock.now()
    where = frozenset({establishment_id})
    if not accounts.may_manage(actor, Action.READ, where):
        _refuse(db, actor, "account.list", "no role allowed to read accounts in that establishment")
        raise AccessDenied("your roles do not allow reading accounts in that establishment")
    wanted = _folded(text or "")
    with gate_transaction(db, actor.establishments) as session:
        found = _accounts(store.accounts_with_credentials(session, where), local_date(now))
        shown = [a for a in found if not wanted or wanted in _key(a)]
        audit.record(
            session,
            audit_entry(actor, scope=where, action="account.list", outcome="allowed",
                        categories=CATEGORIES, record_count=len(shown),
                        details={"establishment_id": establishment_id, "text": text or None}),
            now=now,
        )  # fmt: skip
    return shown


def read_account(
    db: Database, actor: Actor, *, username: str, now: datetime | None = None
) -> Account:
    """One account, with its habilitations in the establishments where the actor may read
    accounts (those elsewhere stay out of sight)."""
    now = now or clock.now()
    readable = _scope(actor, Action.READ)
    with gate_transaction(db, actor.establishments) as session:
        user = _user(session, username)
        where = _held_in(session, user) & readable if user is not None else frozenset()
        if user is not None and where:
            rows = [
                (user, h, session.get(Credential, user.id))
                for h in staff_store.habilitations_of(session, user.id)
                if h.establishment_id in where
            ]
            account = _accounts(rows, local_date(now))[0]
            audit.record(
                session,
                audit_entry(actor, scope=where, action="account.read", outcome="allowed",
                            categories=CATEGORIES, record_count=1,
                            details={"account": user.username, "account_id": user.id}),
                now=now,
            )  # fmt: skip
            return account
    _refuse(
        db, actor, "account.read", f"no account {_name(username)} in the actor's establishments"
    )
    raise _unknown(username)


# --- habilitations ------------------------------------------------------------------------
def grant_habilitation(
    db: Database,
    actor: Actor,
    *,
    username: str,
    establishment_id: int,
    role: str,
    valid_from: date,
    valid_until: date | None = None,
    now: datetime | None = None,
) -> Grant:
    """A new habilitation for an account the actor manages, in one of the actor's
    establishments where they may write accounts."""
    now = now or clock.now()
    check_id(establishment_id, field="establishment_id")
    check_day(valid_from, field="valid_from")
    action = "account.habilitation.grant"
    target = _visible(db, actor, username, action)
    if target == actor.user_id:
        _refuse(
            db,
            actor,
            action,
            f"an administrator cannot grant themselves a role ({_name(username)})",
        )
        raise AccessDenied("you cannot grant yourself a role: ask another administrator")
    where = frozenset({establishment_id})
    if not accounts.may_manage(actor, Action.WRITE, where):
        _refuse(db, actor, action, "no role allowed to manage accounts in that establishment")
        raise AccessDenied("your roles do not allow managing accounts in that establishment")
    with gate_transaction(db, actor.establishments) as session:
        user = _locked_user(session, target)
        hab = staff.grant_habilitation(
            session, user_id=user.id, establishment_id=establishment_id, role=role,
            valid_from=valid_from, valid_until=valid_until,
        )  # fmt: skip
        _record(session, actor, where, action, user, now, _habilitation_details(hab))
        return _grant(hab, local_date(now))


def end_habilitation(
    db: Database,
    actor: Actor,
    *,
    username: str,
    habilitation_id: int,
    ends_on: date,
    now: datetime | None = None,
) -> Grant:
    """End a habilitation on ``ends_on`` (its last valid day): yesterday at the earliest,
    which ends it at once; never later than it already ended (a new grant extends)."""
    now = now or clock.now()
    check_id(habilitation_id, field="habilitation_id")
    check_day(ends_on, field="ends_on")
    action = "account.habilitation.end"
    target = _visible(db, actor, username, action)
    with gate_transaction(db, actor.establishments) as session:
        hab = session.get(Habilitation, habilitation_id, with_for_update=True)
        where = (
            frozenset({hab.establishment_id}) if hab is not None and hab.user_id == target else None
        )
    if where is None:  # a probe for someone else's habilitation is recorded too
        _refuse(db, actor, action, f"no habilitation #{habilitation_id} of this account")
        raise NotFoundError("no such habilitation for this account", field="habilitation_id")
    if not accounts.may_manage(actor, Action.WRITE, where):
        _refuse(db, actor, action, "no role allowed to manage accounts in that establishment")
        raise AccessDenied("your roles do not allow managing accounts in that establishment")
    with gate_transaction(db, actor.establishments) as session:
        user = _locked_user(session, target)
        hab = session.get(Habilitation, habilitation_id, with_for_update=True)
        if hab is None:  # pragma: no cover - habilitations are never deleted
            raise NotFoundError("no such habilitation for this account", field="habilitation_id")
        _check_end(hab, ends_on, local_date(now))
        before = hab.valid_until
        hab.valid_until = ends_on
        session.flush()
        _record(session, actor, where, action, user, now,
                {**_habilitation_details(hab),
                 "previous_until": before.isoformat() if before else None})  # fmt: skip
        return _grant(hab, local_date(now))


def _check_end(hab: Habilitation, ends_on: date, today: date) -> None:
    if ends_on < today - timedelta(days=1):
        raise ValidationError(
            "a habilitation cannot end in the past (yesterday at the earliest ends it now)",
            field="ends_on",
        )
    if ends_on < hab.valid_from - timedelta(days=1):
        raise ValidationError("ends before it starts", field="ends_on")
    if hab.valid_until is not None and ends_on > hab.valid_until:
        raise ValidationError(
            "it already ends earlier: grant a new habilitation to extend it", field="ends_on"
        )


# --- the account itself -------------------------------------------------------------------
def disable_account(
    db: Database, actor: Actor, *, username: str, reason: str, now: datetime | None = None
) -> Disabled:
    """Deactivate an account and revoke its sessions and tokens; the actor must manage
    accounts in every establishment where it holds a running habilitation."""
    now = now or clock.now()
    action = "account.disable"
    why = _reason(reason)
    target, where = _manageable_account(db, actor, username, action, now)
    with gate_transaction(db, actor.establishments) as session:
        user = _locked_user(session, target)
        if not user.active:
            raise ConflictError("the account is already disabled")
        user.active = False
        session.flush()
        # Its holder's open sessions and tokens end now, not at their expiry.
        sessions = revoke_user_sessions(session, user=user, reason="account disabled", now=now,
                                        how=actor.how)  # fmt: skip
        tokens = revoke_user_tokens(session, user=user, now=now, how=actor.how,
                                    reason="account disabled")  # fmt: skip
        _record(session, actor, where, action, user, now,
                {"sessions_revoked": sessions, "tokens_revoked": tokens}, reason=why)  # fmt: skip
        return Disabled(user.username, sessions, tokens)


def reset_mfa(
    db: Database, actor: Actor, *, username: str, reason: str, now: datetime | None = None
) -> MfaReset:
    """Restart an account's TOTP enrolment (a lost phone): the old secret and recovery codes
    stop working, its sessions end, and its holder enrols a new secret at the next sign-in
    with their password (the secret is drawn then, so that the administrator never sees it)."""
    now = now or clock.now()
    action = "account.mfa.reset"
    why = _reason(reason)
    target, where = _manageable_account(db, actor, username, action, now)
    with gate_transaction(db, actor.establishments) as session:
        user = _locked_user(session, target)
        if not user.active:
            raise ConflictError("the account is disabled")
        auth.start_enrolment(session, user=user, now=now, how=actor.how, record=False)
        sessions = revoke_user_sessions(session, user=user, reason="MFA reset", now=now,
                                        how=actor.how)  # fmt: skip
        _record(session, actor, where, action, user, now,
                {"sessions_revoked": sessions, "recovery_codes": "void"}, reason=why)  # fmt: skip
        return MfaReset(user.username, sessions)


# --- helpers ------------------------------------------------------------------------------
def _scope(actor: Actor, action: Action) -> frozenset[int]:
    return frozenset(
        e for e in actor.establishments if accounts.may_manage(actor, action, frozenset({e}))
    )


def _name(username: str) -> str:
    return username.strip().lower()[:64]


def _user(session: Session, username: str) -> User | None:
    return staff_store.user_by_username(session, _name(username))


def _held_in(session: Session, user: User, today: date | None = None) -> frozenset[int]:
    """The establishments of the account's habilitations; with ``today``, those still
    running or to come (all of them if none is)."""
    habs = staff_store.habilitations_of(session, user.id)
    every = frozenset(h.establishment_id for h in habs)
    if today is None:
        return every
    running = frozenset(
        h.establishment_id for h in habs if h.valid_until is None or h.valid_until >= today
    )
    return running or every


def _unknown(username: str) -> NotFoundError:
    return NotFoundError(f"no account named {_name(username)}", field="username")


def _visible(db: Database, actor: Actor, username: str, action: str) -> int:
    """The id of an account habilitated in one of the establishments where the actor may
    read accounts; elsewhere it does not exist for them (refusal recorded)."""
    readable = _scope(actor, Action.READ)
    with gate_transaction(db, actor.establishments) as session:
        user = _user(session, username)
        if user is not None and _held_in(session, user) & readable:
            return user.id
    _refuse(db, actor, action, f"no account {_name(username)} in the actor's establishments")
    raise _unknown(username)


def _manageable_account(
    db: Database, actor: Actor, username: str, action: str, now: datetime
) -> tuple[int, frozenset[int]]:
    """The account's id and the establishments concerned, once the actor may change it
    (not their own; accounts write in each establishment where it holds a running
    habilitation)."""
    target = _visible(db, actor, username, action)
    if target == actor.user_id:
        _refuse(db, actor, action, "an administrator cannot do this to their own account")
        raise AccessDenied("not on your own account: ask another administrator")
    with gate_transaction(db, actor.establishments) as session:
        user = session.get(User, target)
        where = _held_in(session, user, local_date(now)) if user is not None else frozenset()
    if not accounts.may_manage(actor, Action.WRITE, where):
        _refuse(db, actor, action,
                f"no role allowed to manage accounts in every establishment of {_name(username)}")  # fmt: skip
        raise AccessDenied(
            "this account also holds habilitations in establishments you do not manage"
        )
    return target, where


def _locked_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id, with_for_update=True)
    if user is None:  # pragma: no cover - accounts are never deleted
        raise NotFoundError("no such account", field="username")
    return user


def _reason(reason: str) -> str:
    why = " ".join((reason or "").split())
    if not why:
        raise ValidationError("a reason is required", field="reason")
    if len(why) > MAX_REASON:
        raise ValidationError(f"at most {MAX_REASON} characters", field="reason")
    return why


def _refuse(db: Database, actor: Actor, action: str, reason: str) -> None:
    record_refusal(db, actor, action=action, patient_ids=[], categories=CATEGORIES,
                   reason=reason)  # fmt: skip


def _record(session: Session, actor: Actor, where: frozenset[int], action: str, user: User,
            now: datetime, details: dict[str, Any], reason: str | None = None) -> None:  # fmt: skip
    audit.record(
        session,
        audit_entry(actor, scope=where, action=action, outcome="allowed",
                    categories=CATEGORIES, record_count=1, reason=reason,
                    details={**details, "account": user.username, "account_id": user.id}),
        now=now,
    )  # fmt: skip


def _habilitation_details(hab: Habilitation) -> dict[str, Any]:
    return {
        "habilitation_id": hab.id, "establishment_id": hab.establishment_id,
        "role": hab.role.value, "valid_from": hab.valid_from.isoformat(),
        "valid_until": hab.valid_until.isoformat() if hab.valid_until else None,
    }  # fmt: skip


def _grant(hab: Habilitation, today: date) -> Grant:
    return Grant(hab.id, hab.establishment_id, hab.role.value, hab.valid_from, hab.valid_until,
                 hab.valid_on(today))  # fmt: skip


def _mfa(cred: Credential | None) -> str:
    if cred is None or cred.totp_secret is None:
        return "none"
    return "enrolled" if cred.totp_enrolled_at is not None else "pending"


def _accounts(
    rows: Iterable[tuple[User, Habilitation, Credential | None]], today: date
) -> list[Account]:
    """One Account per user, in the rows' order, with its habilitations."""
    found: dict[int, tuple[User, Credential | None, list[Grant]]] = {}
    for user, hab, cred in rows:
        found.setdefault(user.id, (user, cred, []))[2].append(_grant(hab, today))
    return [
        Account(
            username=user.username, display_name=user.display_name, active=user.active,
            locked=user.locked_at is not None, mfa=_mfa(cred), last_login_at=user.last_login_at,
            habilitations=tuple(grants),
        )
        for user, cred, grants in found.values()
    ]  # fmt: skip


def _folded(text: str) -> str:
    return " ".join(strip_accents(text).casefold().split())


def _key(account: Account) -> str:
    return f"{_folded(account.username)} {_folded(account.display_name)}"
