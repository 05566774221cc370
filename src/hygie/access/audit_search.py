"""The trail searched by a security officer (FHIR AuditEvent): events by patient, by
account or health professional, by period, a page at a time with the total, or one event
by its id. Reading the trail is itself recorded (``audit.search`` / ``audit.read``).

An officer sees the trail of their establishments only: the events that concern a patient
with a file there, and those of accounts habilitated there (at any time). Of an event that
also names patients of other establishments, those patients are left out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from hygie.access import audit
from hygie.access.actor import Actor
from hygie.access.gateway import AccessDenied, audit_entry, record_refusal
from hygie.access.history import _may_audit
from hygie.access.scope import gate_transaction
from hygie.db import Database
from hygie.errors import NotFoundError, ValidationError
from hygie.kit.checks import check_id
from hygie.storage import trail_search as store

MAX_PAGE = 100


@dataclass(frozen=True)
class TrailQuery:
    """What to look for; None: any. ``start`` included, ``end`` excluded (UTC)."""

    patient_id: int | None = None
    username: str | None = None
    professional_id: int | None = None
    start: datetime | None = None
    end: datetime | None = None
    action: str | None = None  # an action of the trail, e.g. "chart.read"
    outcome: str | None = None  # one of OUTCOMES


OUTCOMES = ("allowed", "denied", "failed", "contained")


@dataclass(frozen=True)
class TrailEvent:
    """One event of the trail as an officer may see it."""

    id: int
    at: datetime
    user_id: int | None
    username: str | None
    display_name: str | None
    professional_id: int | None
    role: str | None
    establishment_id: int | None
    session_id: int | None
    token_id: int | None
    ip: str | None
    user_agent: str | None
    how: str
    action: str
    level: str | None
    patient_ids: list[int]  # those of the officer's establishments only
    categories: list[str]
    purpose: str | None
    outcome: str
    reason: str | None
    record_count: int
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TrailPage:
    total: int
    offset: int
    events: list[TrailEvent]


def _where_officer(actor: Actor) -> frozenset[int]:
    return frozenset(e for e in actor.establishments if _may_audit(actor, frozenset({e})))


def _events(session: Session, rows: Sequence[Any], where: frozenset[int]) -> list[TrailEvent]:
    """The events as the officer may see them: of the patients they name, only those with
    a file in the officer's establishments."""
    named = {p for row in rows for p in (row[0].patient_ids or [])}
    ours = store.filed_in(session, named, where) if named else set()
    return [
        TrailEvent(
            id=e.id, at=e.at, user_id=e.user_id, username=e.username, display_name=display,
            professional_id=professional, role=e.role, establishment_id=e.establishment_id,
            session_id=e.session_id, token_id=e.token_id, ip=e.ip, user_agent=e.user_agent,
            how=e.how, action=e.action, level=e.level,
            patient_ids=[p for p in e.patient_ids or [] if p in ours],
            categories=list(e.categories or []), purpose=e.purpose, outcome=e.outcome,
            reason=e.reason, record_count=e.record_count, details=dict(e.details or {}),
        )
        for e, display, professional in rows
    ]  # fmt: skip


def _refuse(db: Database, actor: Actor, action: str) -> None:
    record_refusal(db, actor, action=action, patient_ids=[], categories=["audit"],
                   reason="not a security officer")  # fmt: skip
    raise AccessDenied("only a security officer reads the audit trail")


def search_trail(
    db: Database,
    actor: Actor,
    query: TrailQuery,
    *,
    offset: int = 0,
    count: int = 20,
    action: str = "audit.search",
) -> TrailPage:
    """One page of the events matching ``query`` in the officer's establishments, newest
    first, and how many match in all."""
    if offset < 0:
        raise ValidationError("cannot be negative", field="offset")
    if query.patient_id is not None:
        check_id(query.patient_id, field="patient")
    if query.start and query.end and query.end <= query.start:
        raise ValidationError("the period ends before it starts", field="date")
    if query.outcome is not None and query.outcome not in OUTCOMES:
        raise ValidationError(f"one of {', '.join(OUTCOMES)}", field="outcome")
    if query.action is not None and len(query.action) > 64:
        raise ValidationError("at most 64 characters", field="action")
    count = max(0, min(int(count), MAX_PAGE))
    where = _where_officer(actor)
    if not where:
        _refuse(db, actor, action)
    with gate_transaction(db, where) as session:
        total, rows = store.search_events(
            session, where, patient_id=query.patient_id, username=query.username,
            professional_id=query.professional_id, start=query.start, end=query.end,
            action=query.action, outcome=query.outcome, offset=offset, limit=count,
        )  # fmt: skip
        events = _events(session, rows, where)
        criteria = {
            "patient": query.patient_id, "agent": query.username,
            "practitioner": query.professional_id, "action": query.action,
            "outcome": query.outcome,
            "start": query.start.isoformat() if query.start else None,
            "end": query.end.isoformat() if query.end else None,
        }  # fmt: skip
        audit.record(
            session,
            audit_entry(
                actor, scope=where, action=action, outcome="allowed", level="summary",
                patient_ids=sorted({p for e in events for p in e.patient_ids}),
                categories=["audit"], record_count=len(events),
                details={"criteria": {k: v for k, v in criteria.items() if v is not None},
                         "offset": offset, "count": count, "total": total},
            ),
        )  # fmt: skip
    return TrailPage(total=total, offset=offset, events=events)


def read_event(
    db: Database, actor: Actor, event_id: int, *, action: str = "audit.read"
) -> TrailEvent:
    """One event of the trail, if it belongs to the officer's establishments ("not found"
    otherwise, and the attempt is recorded)."""
    check_id(event_id, field="id")
    where = _where_officer(actor)
    if not where:
        _refuse(db, actor, action)
    with gate_transaction(db, where) as session:
        rows = store.event_of(session, where, event_id)
        events = _events(session, rows, where)
        if events:
            audit.record(
                session,
                audit_entry(actor, scope=where, action=action, outcome="allowed", level="record",
                            patient_ids=events[0].patient_ids, categories=["audit"],
                            record_count=1, details={"event_id": event_id}),
            )  # fmt: skip
    if not events:
        record_refusal(db, actor, action=action, patient_ids=[], categories=["audit"],
                       reason=f"no audit event #{event_id} in your establishments")  # fmt: skip
        raise NotFoundError(f"audit event #{event_id} does not exist", field="id")
    return events[0]
