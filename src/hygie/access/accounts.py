"""Accounts and habilitations through the gate: the IT administrator's work.

Accounts are not patient data, but they are what an attacker wants most (THREAT-MODEL.md:
a stolen privileged account), so they go through the same gate: an actor manages accounts
only in the establishments where one of its roles may (``accounts`` in the permission
table), and every listing and change is in the trail under the actor's name."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from hygie.access import audit
from hygie.access.actor import Actor
from hygie.access.gateway import AccessDenied, audit_entry, record_refusal
from hygie.access.policy import Action, Category, decide
from hygie.access.scope import gate_transaction
from hygie.auth import service as auth
from hygie.db import Database
from hygie.errors import NotFoundError
from hygie.kit import clock
from hygie.kit.checks import check_id
from hygie.kit.identifiers import parse_finess
from hygie.models import User
from hygie.storage import organisation as org_store
from hygie.storage import staff as staff_store


@dataclass(frozen=True)
class AccountLine:
    username: str
    display_name: str
    active: bool
    establishment_id: int
    role: str
    valid_from: date
    valid_until: date | None


def may_manage(actor: Actor, action: Action, establishment_ids: frozenset[int]) -> bool:
    """Whether the actor holds, in *every* one of the establishments, a role allowed to
    ``action`` accounts there."""
    return bool(establishment_ids) and all(
        any(
            decide(role=r.value, action=action.value, category=Category.ACCOUNTS.value,
                   in_scope=True, care_relationship=None, break_glass=False).allowed
            for r in actor.roles_in(frozenset({est}))
        )
        for est in establishment_ids
    )  # fmt: skip


def list_accounts(db: Database, actor: Actor, *, establishment_id: int) -> list[AccountLine]:
    """The accounts habilitated in one establishment, with their habilitations."""
    check_id(establishment_id, field="establishment_id")
    where = frozenset({establishment_id})
    if not may_manage(actor, Action.READ, where):
        record_refusal(db, actor, action="account.list", patient_ids=[], categories=["accounts"],
                       reason="no role allowed to read accounts in that establishment")  # fmt: skip
        raise AccessDenied("your roles do not allow reading accounts in that establishment")
    with gate_transaction(db, actor.establishments) as session:
        lines = [
            AccountLine(
                username=u.username, display_name=u.display_name, active=u.active,
                establishment_id=h.establishment_id, role=h.role.value,
                valid_from=h.valid_from, valid_until=h.valid_until,
            )
            for u, h in staff_store.accounts_in(session, where)
        ]  # fmt: skip
        audit.record(
            session,
            audit_entry(actor, scope=where, action="account.list", outcome="allowed",
                        categories=["accounts"], record_count=len(lines),
                        details={"establishment_id": establishment_id}),
        )  # fmt: skip
    return lines


def create_account(
    db: Database,
    actor: Actor,
    *,
    username: str,
    role: str,
    establishments: Sequence[str],
    password: str | None = None,
    display_name: str | None = None,
    rpps: str | None = None,
    family_name: str | None = None,
    given_name: str | None = None,
    now: datetime | None = None,
) -> auth.NewAccount:
    """A human account with one habilitation per establishment (FINESS), its TOTP
    enrolment pending; the actor must manage accounts in each of those establishments."""
    now = now or clock.now()
    with db.sessions() as session:
        where = frozenset(_establishment_id(session, raw) for raw in establishments)
    if not may_manage(actor, Action.WRITE, where):
        record_refusal(db, actor, action="account.create", patient_ids=[], categories=["accounts"],
                       reason="no role allowed to manage accounts in those establishments")  # fmt: skip
        raise AccessDenied("your roles do not allow managing accounts in those establishments")

    def record_as(session: Session, user: User, details: dict[str, Any]) -> None:
        audit.record(
            session,
            audit_entry(actor, scope=where, action="account.create", outcome="allowed",
                        categories=["accounts"], record_count=1,
                        details={**details, "account": user.username, "account_id": user.id}),
            now=now,
        )  # fmt: skip

    with gate_transaction(db, actor.establishments) as session:
        return auth.create_account(
            session, username=username, role=role, establishments=establishments,
            password=password, now=now, how=actor.how, display_name=display_name, rpps=rpps,
            family_name=family_name, given_name=given_name, operator=actor.username,
            record_as=record_as,
        )  # fmt: skip


def _establishment_id(session: Session, raw: str) -> int:
    finess = parse_finess(raw, field="establishment")
    found = org_store.establishment_by_finess(session, finess)
    if found is None:
        raise NotFoundError(f"no establishment with FINESS {finess}", field="establishment")
    return found.id
