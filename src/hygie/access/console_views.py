"""The reads the security officer's console needs beyond the existing ones: one alert,
an account's hourly activity against its norm, the locked accounts, the trail searched by
action and outcome too, a patient's access history with the patient's name for printing,
and the break-the-glass queue with the accounts named.

Each decides like the rest of the gate (a security officer of the establishments
concerned, refusals recorded) and records what it hands over in the same transaction.
None names a patient in a list but the access history's own patient and the review
queue's patients (an identity summary, which the officer may read)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from hygie.access import activity, audit
from hygie.access.actor import Actor
from hygie.access.alerts import AlertLine, _concerns, _officer_scope
from hygie.access.audit_search import TrailPage, TrailQuery, search_trail
from hygie.access.gateway import AccessDenied, audit_entry, record_refusal
from hygie.access.history import HistoryLine, _may_audit, pending_reviews
from hygie.access.scope import gate_transaction
from hygie.db import Database
from hygie.errors import NotFoundError, ValidationError
from hygie.kit.checks import check_id
from hygie.kit.time import PARIS
from hygie.models import Establishment, Habilitation, Patient, SecurityAlert, User
from hygie.storage import access as access_store
from hygie.storage import staff as staff_store

NOT_OFFICER = "only a security officer reads the security console"


@dataclass(frozen=True)
class AccountActivity:
    """An account's day, hour by hour, and whether containment has it locked."""

    username: str
    display_name: str
    locked: bool
    locked_reason: str | None
    activity: activity.Activity


@dataclass(frozen=True)
class LockedAccount:
    username: str
    display_name: str
    locked_at: datetime
    locked_reason: str | None


ConsoleQuery = TrailQuery  # the console's search is the audit search


@dataclass(frozen=True)
class HistorySheet:
    """What the patient is handed: who accessed their record, under their name and the
    establishments holding their file."""

    patient_id: int
    name: str
    establishments: list[str]
    lines: list[HistoryLine]


@dataclass(frozen=True)
class ReviewLine:
    id: int
    username: str | None
    patient_id: int
    establishment_id: int
    reason_code: str
    reason_text: str | None
    granted_at: datetime
    expires_at: datetime


def _officer(db: Database, actor: Actor, action: str, mode: str = "read") -> frozenset[int]:
    """The establishments where the actor is a security officer; a refusal otherwise."""
    where = _officer_scope(actor, mode)
    if not where:
        record_refusal(db, actor, action=action, patient_ids=[], categories=["audit"],
                       reason="not a security officer")  # fmt: skip
        raise AccessDenied(NOT_OFFICER)
    return where


def read_alert(db: Database, actor: Actor, alert_id: int) -> AlertLine:
    """One alert with its evidence, about an account of the officer's establishments
    (``alert.read``; "not found" otherwise, recorded)."""
    check_id(alert_id, field="alert_id")
    where = _officer(db, actor, "alert.read")
    with gate_transaction(db, frozenset()) as session:
        alert = session.get(SecurityAlert, alert_id)
        if alert is not None and _concerns(session, alert, where):
            user = session.get(User, alert.user_id) if alert.user_id is not None else None
            line = AlertLine(
                id=alert.id, at=alert.at, username=alert.username, user_id=alert.user_id,
                establishment_id=alert.establishment_id, rule=alert.rule,
                severity=alert.severity, response=alert.response, summary=alert.summary,
                status=alert.status, evidence=dict(alert.evidence),
                locked=user is not None and user.locked_at is not None,
            )  # fmt: skip
            audit.record(
                session,
                audit_entry(actor, scope=where, action="alert.read", outcome="allowed",
                            categories=["audit"], record_count=1,
                            details={"alert_id": alert.id, "account": alert.username}),
            )  # fmt: skip
            return line
    record_refusal(db, actor, action="alert.read", patient_ids=[], categories=["audit"],
                   reason=f"no alert #{alert_id} in your establishments")  # fmt: skip
    raise NotFoundError(f"alert #{alert_id} does not exist", field="alert_id")


def _account_in(session: Session, username: str, where: frozenset[int]) -> User | None:
    user = staff_store.user_by_username(session, username.strip().lower())
    if user is None:
        return None
    held = session.scalars(
        select(Habilitation.id).where(
            Habilitation.user_id == user.id, Habilitation.establishment_id.in_(where)
        )
    ).first()
    return user if held is not None else None


def account_activity(
    db: Database, actor: Actor, *, username: str, day: date, action: str = "audit.activity"
) -> AccountActivity:
    """An account of the officer's establishments, hour by hour over one Paris day: the
    distinct patients it received against its hourly norms. Only counts leave; looking is
    recorded (``audit.activity``, or ``audit.activity_plot`` for the drawing)."""
    where = _officer(db, actor, action)
    with gate_transaction(db, frozenset()) as session:
        user = _account_in(session, username, where)
        found = None if user is None else (user.id, user.username, user.display_name,
                                           user.locked_at, user.locked_reason)  # fmt: skip
    if found is None:
        record_refusal(db, actor, action=action, patient_ids=[], categories=["audit"],
                       reason=f"no account named {username[:64]} in your establishments")  # fmt: skip
        raise NotFoundError(f"no account named {username[:64]} in your establishments",
                            field="username")  # fmt: skip
    user_id, name, display, locked_at, locked_reason = found
    since = datetime.combine(day, time(0), tzinfo=PARIS)
    hours = activity.hourly(db, user_id=user_id, since=since, until=since + timedelta(days=1))
    with gate_transaction(db, frozenset()) as session:
        audit.record(
            session,
            audit_entry(actor, scope=where, action=action, outcome="allowed",
                        categories=["audit"], record_count=len(hours.records),
                        details={"account": name, "day": day.isoformat()}),
        )  # fmt: skip
    return AccountActivity(username=name, display_name=display, locked=locked_at is not None,
                           locked_reason=locked_reason, activity=hours)  # fmt: skip


def locked_accounts(db: Database, actor: Actor) -> list[LockedAccount]:
    """The accounts of the officer's establishments that containment has locked, latest
    first (``accounts.locked``)."""
    where = _officer(db, actor, "accounts.locked")
    with gate_transaction(db, frozenset()) as session:
        ours = select(Habilitation.user_id).where(Habilitation.establishment_id.in_(where))
        rows = session.scalars(
            select(User)
            .where(User.locked_at.is_not(None), User.id.in_(ours))
            .order_by(User.locked_at.desc())
            .limit(500)
        ).all()
        found = [
            LockedAccount(username=u.username, display_name=u.display_name,
                          locked_at=u.locked_at, locked_reason=u.locked_reason)
            for u in rows
            if u.locked_at is not None
        ]  # fmt: skip
        audit.record(
            session,
            audit_entry(actor, scope=where, action="accounts.locked", outcome="allowed",
                        categories=["accounts"], record_count=len(found),
                        details={"accounts": [a.username for a in found]}),
        )  # fmt: skip
    return found


def search_events(
    db: Database, actor: Actor, query: TrailQuery, *, offset: int = 0, count: int = 20
) -> TrailPage:
    """The audit search (:func:`hygie.access.audit_search.search_trail`, recorded as
    ``audit.search`` with its criteria), with the console's field for a period that ends
    before it starts (its end)."""
    try:
        return search_trail(db, actor, query, offset=offset, count=count)
    except ValidationError as exc:
        if exc.field == "date":
            raise ValidationError(exc.message, field="end") from None
        raise


def _lines(session: Session, patient_id: int) -> list[HistoryLine]:
    return [
        HistoryLine(
            at=e.at.astimezone(PARIS).strftime("%d/%m/%Y %H:%M:%S"),
            who=e.username or "system", role=e.role, action=e.action, how=e.how,
            data=list(e.categories), why=e.purpose or e.reason, outcome=e.outcome,
        )
        for e in access_store.events_for_patient(session, patient_id)
    ]  # fmt: skip


def history_sheet(db: Database, actor: Actor, patient_id: int) -> HistorySheet:
    """A patient's access history to hand to the patient (:func:`hygie.access.history.
    access_history` with the patient's name and establishments), recorded once as
    ``patient.access_history`` (the name read with it: categories audit and identity)."""
    check_id(patient_id, field="patient_id")
    with gate_transaction(db, actor.establishments) as session:
        ests = access_store.establishments_of(session, patient_id)
    if not ests or not _may_audit(actor, ests):
        record_refusal(db, actor, action="patient.access_history", patient_ids=[patient_id],
                       categories=["audit"],
                       reason="not a security officer of the patient's establishments")  # fmt: skip
        if not ests & actor.establishments:
            raise NotFoundError(f"patient #{patient_id} does not exist", field="patient_id")
        raise AccessDenied("only a security officer may read a patient's access history")
    with gate_transaction(db, actor.establishments) as session:
        patient = session.get(Patient, patient_id)
        if patient is None:  # pragma: no cover - a patient with a file exists
            raise NotFoundError(f"patient #{patient_id} does not exist", field="patient_id")
        name = " ".join(p for p in (patient.used_name or patient.birth_name,
                                    patient.used_first_name or patient.first_name) if p)  # fmt: skip
        places = session.scalars(
            select(Establishment.name).where(Establishment.id.in_(sorted(ests)))
            .order_by(Establishment.name)
        ).all()  # fmt: skip
        lines = _lines(session, patient_id)
        audit.record(
            session,
            audit_entry(actor, scope=ests, action="patient.access_history", outcome="allowed",
                        level="summary", patient_ids=[patient_id],
                        categories=["audit", "identity"], record_count=len(lines)),
        )  # fmt: skip
    return HistorySheet(patient_id=patient_id, name=name, establishments=list(places),
                        lines=lines)  # fmt: skip


def review_queue(db: Database, actor: Actor) -> list[ReviewLine]:
    """The break-the-glass grants awaiting review (:func:`hygie.access.history.
    pending_reviews`, which decides and records the listing), with the accounts named."""
    grants = pending_reviews(db, actor)
    ids = sorted({g.user_id for g in grants})
    with gate_transaction(db, frozenset()) as session:
        names: dict[int, str] = {}
        if ids:
            query = select(User.id, User.username).where(User.id.in_(ids))
            names = {uid: name for uid, name in session.execute(query)}
    return [
        ReviewLine(
            id=g.id, username=names.get(g.user_id), patient_id=g.patient_id,
            establishment_id=g.establishment_id, reason_code=g.reason_code,
            reason_text=g.reason_text, granted_at=g.granted_at, expires_at=g.expires_at,
        )
        for g in grants
    ]  # fmt: skip
