"""Feeds through the gate: an interface (the HL7 v2 ADT feed) as a system account.

A feed message is one access: in one transaction scoped to the account's establishments
the gate works out the establishment the message concerns, finds the patient by IPP or
INS there, decides for the roles the account holds in that establishment, applies every
change the message carries through the domain services and records the access with the
message's control id. Anything refused (a habilitation missing, an unknown patient, a
value a service rejects) rolls the whole message back and is recorded ``denied`` or
``failed`` with the same control id. A message the feed could not even read is recorded
by :func:`record_unreadable`.

The feed hands over plain values (:class:`FeedMessage`); this module knows nothing of
HL7. Errors carry the name of the field at fault (``ipp``, ``ins``, ``birth_date``,
``department``, ``at``...), which the feed translates into a segment and field.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from hygie.access import audit
from hygie.access.actor import Actor, load_actor
from hygie.access.feed_apply import (
    PERFORM,
    FeedMessage,
    FeedPatient,
    FeedResult,
    FeedVisit,
    find_patient,
)
from hygie.access.gateway import AccessDenied, audit_entry
from hygie.access.policy import Category, Decision
from hygie.access.scope import gate_transaction
from hygie.access.writes import Target, _authorise
from hygie.db import Database
from hygie.errors import HygieError, NotFoundError, ValidationError
from hygie.kit import clock
from hygie.kit.identifiers import parse_finess
from hygie.models import AccountKind, Role
from hygie.storage import organisation as org_store
from hygie.storage import staff as staff_store

TRIGGERS = ("A01", "A03", "A04", "A08", "A40")
CATEGORIES: dict[str, list[Category]] = {
    "A01": [Category.IDENTITY, Category.CONTACT, Category.STAYS],
    "A03": [Category.STAYS],
    "A04": [Category.IDENTITY, Category.CONTACT],
    "A08": [Category.IDENTITY, Category.CONTACT],
    "A40": [Category.IDENTITY],
}


@dataclass(frozen=True)
class FeedAccount:
    actor: Actor
    establishment_id: int | None  # the one the operator chose, if any


# --- the account --------------------------------------------------------------------------
def feed_account(
    db: Database, *, username: str, establishment: str | None = None, now: datetime | None = None
) -> FeedAccount:
    """The system account a feed runs as: it must exist, be active, be a system account and
    hold the interface role today; ``establishment`` (a FINESS), if given, must be one of
    its establishments."""
    name = username.strip().lower()
    # Accounts and establishments only: a scope of no establishment, no patient row.
    with gate_transaction(db, frozenset()) as session:
        user = staff_store.user_by_username(session, name)
        if user is None or not user.active:
            raise NotFoundError(f"no active account named {name}", field="account")
        if user.kind != AccountKind.SYSTEM:
            raise ValidationError(
                f"{name} is a person's account: feeds run as a system account "
                "(hygie user add NAME --role interface --establishment FINESS --system)",
                field="account",
            )
        actor = load_actor(session, username=name, how="hl7", purpose="interface", now=now)
        chosen: int | None = None
        if establishment is not None:
            finess = parse_finess(establishment, field="establishment")
            found = org_store.establishment_by_finess(session, finess)
            if found is None:
                raise NotFoundError(f"no establishment with FINESS {finess}", field="establishment")
            chosen = found.id
    if not any(Role.INTERFACE in roles for roles in actor.roles.values()):
        raise ValidationError(
            f"{name} holds no interface habilitation valid today", field="account"
        )
    if chosen is not None and Role.INTERFACE not in actor.roles.get(chosen, frozenset()):
        raise ValidationError(
            f"{name} holds no interface habilitation in establishment {establishment}",
            field="establishment",
        )
    return FeedAccount(actor=actor, establishment_id=chosen)


# --- one message --------------------------------------------------------------------------
class _Refused(Exception):
    def __init__(self, decision: Decision, patient_id: int | None) -> None:
        self.decision, self.patient_id = decision, patient_id


def apply_message(
    db: Database, account: FeedAccount, message: FeedMessage, *, now: datetime | None = None
) -> FeedResult:
    """Apply one ADT message, all or nothing, and record it (``hl7.adt.<trigger>``)."""
    if message.trigger not in TRIGGERS:
        raise ValidationError(f"unsupported event {message.trigger}", field="trigger")
    now = now or clock.now()
    action = f"hl7.adt.{message.trigger.lower()}"
    categories = CATEGORIES[message.trigger]
    details: dict[str, Any] = {
        "control_id": message.control_id,
        "trigger": message.trigger,
        "sender": message.sender,
    }
    if message.visit is not None and message.visit.visit_number:
        details["visit_number"] = message.visit.visit_number
    actor = _current(db, account, now, action, categories, details)
    patient_id: int | None = None
    try:
        with gate_transaction(db, actor.establishments) as session:
            est = _establishment(session, actor, account.establishment_id, message)
            details["establishment_id"] = est
            found = find_patient(session, actor, est, message.patient, creating=_creates(message))
            patient_id = found.id if found is not None else None
            decision, scope = _authorise(session, actor, categories, Target(patient_id, est), now)
            if not decision.allowed:
                raise _Refused(decision, patient_id)
            perform = PERFORM[message.trigger]
            result, touched, more = perform(session, actor, est, message, found, now)
            patient_id = result.patient_id
            details.update(more)
            audit.record(
                session,
                audit_entry(actor, scope=scope, action=action, outcome="allowed",
                            level="record", patient_ids=touched,
                            categories=[c.value for c in categories],
                            record_count=len(touched), purpose=decision.basis, details=details),
                now=now,
            )  # fmt: skip
            return result
    except _Refused as refused:
        _record(db, actor, action, "denied", refused.patient_id, categories,
                refused.decision.reason, details)  # fmt: skip
        if refused.decision.hidden:
            raise NotFoundError("no such patient in the account's establishments",
                                field="ipp") from None  # fmt: skip
        raise AccessDenied(refused.decision.reason) from None
    except HygieError as exc:
        reason = f"{exc.field}: {exc.message}" if exc.field else exc.message
        _record(db, actor, action, "failed", patient_id, categories, reason, details)
        raise


def record_unreadable(
    db: Database, account: FeedAccount, *, control_id: str | None, trigger: str | None,
    sender: str | None, reason: str,
) -> None:  # fmt: skip
    """Record a message refused before it could be applied (malformed, truncated,
    unsupported): nothing of it was written, but the attempt is in the trail."""
    details = {"control_id": control_id, "trigger": trigger, "sender": sender}
    _record(db, account.actor, "hl7.message", "failed", None, [], reason, details)


def _record(
    db: Database,
    actor: Actor,
    action: str,
    outcome: str,
    patient_id: int | None,
    categories: Sequence[Category],
    reason: str,
    details: dict[str, Any],
) -> None:
    with gate_transaction(db, actor.establishments) as session:
        audit.record(
            session,
            audit_entry(actor, action=action, outcome=outcome,
                        patient_ids=[patient_id] if patient_id else [],
                        categories=[c.value for c in categories], reason=reason[:500],
                        details=details),
        )  # fmt: skip


def _creates(message: FeedMessage) -> bool:
    return message.trigger in ("A01", "A04")


def _current(
    db: Database,
    account: FeedAccount,
    now: datetime,
    action: str,
    categories: Sequence[Category],
    details: dict[str, Any],
) -> Actor:
    """The account as it stands now: a listener that runs for weeks stops applying
    messages the moment its account is disabled or its habilitations end."""
    try:
        return feed_account(db, username=account.actor.username, now=now).actor
    except HygieError as exc:
        reason = f"the feed's account: {exc.message}"
        _record(db, account.actor, action, "denied", None, categories, reason, details)
        raise AccessDenied(reason) from None


def _establishment(session: Session, actor: Actor, chosen: int | None, message: FeedMessage) -> int:
    """The establishment the message concerns: the one the operator chose, else the one
    the message names (MSH-6, PV1-3 facility), else the account's only one. A FINESS the
    account holds no habilitation in is a refusal."""
    if chosen is not None and chosen not in actor.establishments:
        raise _Refused(
            Decision(False, "the account holds no habilitation today in the establishment "
                            "this feed runs for"), None)  # fmt: skip
    held = {
        e.finess: e.id for e in org_store.establishments(session) if e.id in actor.establishments
    }
    named: dict[int, str] = {}
    for origin, finess in message.facilities:
        if finess not in held:
            raise _Refused(
                Decision(False, f"the account holds no habilitation in establishment "
                                f"{finess} ({origin})"),
                None,
            )  # fmt: skip
        named.setdefault(held[finess], origin)
    if chosen is not None:
        other = [o for e, o in named.items() if e != chosen]
        if other:
            raise ValidationError(
                f"names another establishment ({other[0]}) than the one this feed runs for",
                field="establishment",
            )
        return chosen
    if len(named) > 1:
        raise ValidationError(
            "names two different establishments (" + ", ".join(named.values()) + ")",
            field="establishment",
        )
    if named:
        return next(iter(named))
    if len(actor.establishments) == 1:
        return next(iter(actor.establishments))
    raise ValidationError(
        "names no establishment of the account (a FINESS in MSH-6 or PV1-3): run the feed "
        "with --establishment",
        field="establishment",
    )


__all__ = [
    "FeedAccount",
    "FeedMessage",
    "FeedPatient",
    "FeedResult",
    "FeedVisit",
    "apply_message",
    "feed_account",
    "record_unreadable",
]
