"""What the reception screens show, through the gate: practitioners' days and weeks, the
establishment's day list (arrivals), and what a booking form offers.

The practitioners who may be booked are organisation data, no patient in them: they name
things inside an access recorded on its own, like
:func:`hygie.access.directory.establishments`, and are read without a trail entry — but
only in the actor's establishments where one of their roles reads appointments.

Patient data is decided and recorded as the other reads are:

- ``agenda``: the appointments of a period (one practitioner's, or every one of the
  actor's establishments for reception), each with its patient's identity summary and file
  number, in the establishments where the actor's roles may read identities and
  appointments; one ``appointment.list`` event naming every patient (level ``summary``).
  The reason of a visit is given only when asked for (a practitioner's agenda), never on
  reception's day list (least data).
- ``booking``: a patient's identity summary and the practitioners they may be booked with,
  decided as the booking itself would be (reading identities, writing appointments); one
  ``appointment.booking`` event. A refusal is recorded and raised before the form is shown.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from hygie.access import audit
from hygie.access.actor import Actor
from hygie.access.gateway import (
    AccessDenied,
    PatientSummary,
    audit_entry,
    decide_categories,
    record_refusal,
)
from hygie.access.policy import Action, Category, Decision
from hygie.access.scope import gate_transaction
from hygie.access.view_common import (
    Physician,
    establishments_allowing,
    physicians_in,
    professional_name,
    summary_of,
)
from hygie.db import Database
from hygie.errors import NotFoundError, ValidationError
from hygie.kit import clock
from hygie.kit.checks import check_id
from hygie.kit.time import local_date, paris_midnight
from hygie.models import Appointment, PatientRegistration
from hygie.storage import lists as lists_store

# A week of a practitioner, or a day of a clinic: more than any real agenda holds.
MAX_APPOINTMENTS = 1000
MAX_DAYS = 7
LIST_CATEGORIES = (Category.IDENTITY, Category.APPOINTMENTS)


Practitioner = Physician  # who an agenda belongs to


@dataclass(frozen=True)
class Booking:
    """One line of an agenda or a day list: who, when, with whom, in which file."""

    id: int
    patient: PatientSummary
    file_number: str | None
    start_at: datetime
    duration_min: int
    status: str
    practitioner_id: int
    practitioner: str
    establishment_id: int
    reason: str | None  # None on reception's day list


@dataclass(frozen=True)
class BookingOffer:
    patient: PatientSummary
    practitioners: list[Practitioner] = field(default_factory=list)


def practitioners(db: Database, actor: Actor, *, today: date | None = None) -> list[Practitioner]:
    """The physicians of the actor's establishments where their roles may read appointments."""
    where = establishments_allowing(actor, Action.READ, [Category.APPOINTMENTS])
    day = today or local_date(clock.now())
    with gate_transaction(db, frozenset()) as session:  # no patient row is needed
        return physicians_in(session, where, day)


def _period(start: date, end: date) -> None:
    if not isinstance(start, date) or not isinstance(end, date) or end <= start:
        raise ValidationError("the period must end after it starts", field="end")
    if end - start > timedelta(days=MAX_DAYS):
        raise ValidationError(f"a period of {MAX_DAYS} days at most", field="end")


def agenda(
    db: Database,
    actor: Actor,
    *,
    start: date,
    end: date,
    practitioner_id: int | None = None,
    with_reason: bool = True,
    action: str = "appointment.list",
) -> list[Booking]:
    """The appointments starting from ``start`` (included) to ``end`` (excluded), Paris
    days, of one practitioner or of all, in the actor's establishments where they may read
    identities and appointments; each with its patient's identity summary."""
    _period(start, end)
    if practitioner_id is not None:
        check_id(practitioner_id, field="practitioner_id")
    scope = establishments_allowing(actor, Action.READ, LIST_CATEGORIES)
    criteria: dict[str, Any] = {"start": start.isoformat(), "end": end.isoformat()}
    if practitioner_id is not None:
        criteria["practitioner_id"] = practitioner_id
    if not scope:
        record_refusal(db, actor, action=action, patient_ids=[], categories=["appointments"],
                       reason="no role allowed to read identities and appointments")  # fmt: skip
        raise AccessDenied("your roles do not allow reading appointments")
    with gate_transaction(db, scope) as session:
        total, rows = lists_store.appointments(
            session, establishment_ids=scope, practitioner_id=practitioner_id,
            start=paris_midnight(start), end=paris_midnight(end), limit=MAX_APPOINTMENTS,
        )  # fmt: skip
        names: dict[int, str] = {}
        found = [_booking(session, a, scope, names, with_reason) for a in rows]
        audit.record(
            session,
            audit_entry(actor, scope=scope, action=action, outcome="allowed", level="summary",
                        patient_ids=sorted({b.patient.id for b in found}),
                        categories=[c.value for c in LIST_CATEGORIES], record_count=len(found),
                        details={"criteria": criteria, "total": total}),
        )  # fmt: skip
    return found


def _booking(
    session: Session, a: Appointment, scope: frozenset[int], names: dict[int, str],
    with_reason: bool,
) -> Booking:  # fmt: skip
    file = session.get(PatientRegistration, (a.patient_id, a.establishment_id))
    return Booking(
        id=a.id, patient=summary_of(session, a.patient_id, scope),
        file_number=file.ipp if file is not None else None, start_at=a.start_at,
        duration_min=a.duration_min, status=a.status.value, practitioner_id=a.practitioner_id,
        practitioner=professional_name(session, a.practitioner_id, names),
        establishment_id=a.establishment_id, reason=a.reason if with_reason else None,
    )  # fmt: skip


def booking(
    db: Database, actor: Actor, patient_id: int, *, now: datetime | None = None
) -> BookingOffer:
    """What the booking form of a patient offers: their identity summary and the physicians
    of the establishments where the actor may book them. Decided as the booking would be;
    a refusal is recorded and raised (a patient outside the actor's files: not found)."""
    check_id(patient_id, field="patient_id")
    action = "appointment.booking"
    today = local_date(now or clock.now())
    found: BookingOffer | None = None
    refused: Decision | None = None
    with gate_transaction(db, actor.establishments) as session:
        reads, ests = decide_categories(
            session, actor, patient_id, Action.READ, frozenset({Category.IDENTITY})
        )
        writes, _ = decide_categories(
            session, actor, patient_id, Action.WRITE, frozenset({Category.APPOINTMENTS}), ests
        )
        refused = next(
            (d for d in (reads[Category.IDENTITY], writes[Category.APPOINTMENTS])
             if not d.allowed), None,
        )  # fmt: skip
        if refused is None:
            where = (
                establishments_allowing(actor, Action.WRITE, [Category.APPOINTMENTS])
                & establishments_allowing(actor, Action.READ, [Category.IDENTITY])
                & ests
            )
            found = BookingOffer(
                patient=summary_of(session, patient_id, where),
                practitioners=physicians_in(session, where, today),
            )
            audit.record(
                session,
                audit_entry(actor, scope=where, action=action, outcome="allowed",
                            level="summary", patient_ids=[patient_id], categories=["identity"],
                            record_count=1),
            )  # fmt: skip
    if found is None:
        decision = refused or Decision(False, "no such patient", hidden=True)
        record_refusal(db, actor, action=action, patient_ids=[patient_id],
                       categories=["identity", "appointments"], reason=decision.reason)  # fmt: skip
        if decision.hidden:
            raise NotFoundError(f"patient #{patient_id} does not exist", field="patient_id")
        raise AccessDenied(decision.reason, patient_id=patient_id)
    return found
