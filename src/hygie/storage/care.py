"""Queries behind scheduling, stays, the clinical record, the care team and billing."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from hygie.models import (
    Allergy,
    Appointment,
    AppointmentEvent,
    AppointmentStatus,
    BillableAct,
    CareTeamMember,
    ClinicalStatus,
    Encounter,
    EncounterKind,
    EncounterStatus,
    Invoice,
    Movement,
    Patient,
    Prescription,
    PrescriptionStatus,
)

_LIVE = (AppointmentStatus.BOOKED, AppointmentStatus.ARRIVED)
# The longest appointment, in minutes: bounds the overlap search below.
MAX_APPOINTMENT_MINUTES = 8 * 60


def _overlaps(start: datetime, end: datetime) -> ColumnElement[bool]:
    # end of an appointment = start + duration; computed in Python for portability by
    # bounding the candidates with the longest allowed duration, then checked exactly.
    return and_(
        Appointment.start_at < end,
        Appointment.start_at > start - timedelta(minutes=MAX_APPOINTMENT_MINUTES),
    )


def overlapping_appointments(
    session: Session,
    *,
    start: datetime,
    end: datetime,
    practitioner_id: int | None = None,
    patient_id: int | None = None,
    exclude_id: int | None = None,
) -> list[Appointment]:
    query = select(Appointment).where(_overlaps(start, end), Appointment.status.in_(_LIVE))
    if practitioner_id is not None:
        query = query.where(Appointment.practitioner_id == practitioner_id)
    if patient_id is not None:
        query = query.where(Appointment.patient_id == patient_id)
    if exclude_id is not None:
        query = query.where(Appointment.id != exclude_id)
    return [
        a for a in session.scalars(query) if a.start_at + timedelta(minutes=a.duration_min) > start
    ]


def future_live_appointments(
    session: Session, patient_id: int, after: datetime
) -> Sequence[Appointment]:
    return session.scalars(
        select(Appointment).where(
            Appointment.patient_id == patient_id,
            Appointment.start_at >= after,
            Appointment.status.in_(_LIVE),
        )
    ).all()


def appointment_history(session: Session, appointment_id: int) -> Sequence[AppointmentEvent]:
    return session.scalars(
        select(AppointmentEvent)
        .where(AppointmentEvent.appointment_id == appointment_id)
        .order_by(AppointmentEvent.at, AppointmentEvent.id)
    ).all()


def agenda(
    session: Session, *, practitioner_id: int, start: datetime, end: datetime
) -> Sequence[Appointment]:
    return session.scalars(
        select(Appointment)
        .where(
            Appointment.practitioner_id == practitioner_id,
            Appointment.start_at >= start,
            Appointment.start_at < end,
        )
        .order_by(Appointment.start_at)
    ).all()


def open_stay(session: Session, patient_id: int) -> Encounter | None:
    return session.scalars(
        select(Encounter).where(
            Encounter.patient_id == patient_id,
            Encounter.kind == EncounterKind.INPATIENT,
            Encounter.status == EncounterStatus.IN_PROGRESS,
        )
    ).first()


def stay_from(session: Session, patient_id: int, at: datetime) -> Encounter | None:
    """A hospital stay of the patient running at ``at`` or begun since: a stay opened at
    ``at`` and still running would overlap it."""
    return session.scalars(
        select(Encounter).where(
            Encounter.patient_id == patient_id,
            Encounter.kind == EncounterKind.INPATIENT,
            or_(Encounter.end_at.is_(None), Encounter.end_at > at),
        )
    ).first()


def stop_active_prescriptions(session: Session, patient_id: int) -> list[int]:
    """Stop the patient's active prescriptions; returns their ids."""
    rows = session.scalars(
        select(Prescription).where(
            Prescription.patient_id == patient_id,
            Prescription.status == PrescriptionStatus.ACTIVE,
        )
    ).all()
    for row in rows:
        row.status = PrescriptionStatus.STOPPED
    return [row.id for row in rows]


def current_movement(session: Session, encounter_id: int) -> Movement | None:
    return session.scalars(
        select(Movement).where(Movement.encounter_id == encounter_id, Movement.end_at.is_(None))
    ).first()


def movements(session: Session, encounter_id: int) -> Sequence[Movement]:
    return session.scalars(
        select(Movement).where(Movement.encounter_id == encounter_id).order_by(Movement.start_at)
    ).all()


def bed_taken(session: Session, *, department_id: int, bed: str) -> bool:
    return (
        session.scalars(
            select(Movement.id).where(
                Movement.department_id == department_id,
                Movement.bed == bed,
                Movement.end_at.is_(None),
            )
        ).first()
        is not None
    )


def ward(session: Session, department_id: int) -> Sequence[tuple[Movement, Encounter]]:
    rows = session.execute(
        select(Movement, Encounter)
        .join(Encounter, Encounter.id == Movement.encounter_id)
        .where(Movement.department_id == department_id, Movement.end_at.is_(None))
        .order_by(Movement.bed, Movement.start_at)
    ).all()
    return [(m, e) for m, e in rows]


def active_allergies(session: Session, patient_id: int) -> Sequence[Allergy]:
    return session.scalars(
        select(Allergy).where(
            Allergy.patient_id == patient_id, Allergy.status == ClinicalStatus.ACTIVE
        )
    ).all()


def explicit_team(session: Session, patient_id: int, on: date) -> Sequence[CareTeamMember]:
    return session.scalars(
        select(CareTeamMember).where(
            CareTeamMember.patient_id == patient_id,
            CareTeamMember.start_date <= on,
            or_(CareTeamMember.end_date.is_(None), CareTeamMember.end_date >= on),
        )
    ).all()


def appointment_practitioners(
    session: Session, patient_id: int, *, start: datetime, end: datetime
) -> Sequence[tuple[int, int, datetime]]:
    """(practitioner, establishment, latest start) of live or held appointments in a window."""
    rows = session.execute(
        select(
            Appointment.practitioner_id,
            Appointment.establishment_id,
            func.max(Appointment.start_at),
        )
        .where(
            Appointment.patient_id == patient_id,
            Appointment.start_at >= start,
            Appointment.start_at < end,
            Appointment.status != AppointmentStatus.CANCELLED,
        )
        .group_by(Appointment.practitioner_id, Appointment.establishment_id)
    ).all()
    return [(p, e, t) for p, e, t in rows]


def stay_responsibles(
    session: Session, patient_id: int, *, started_before: datetime, ended_after: datetime
) -> Sequence[tuple[int, int, datetime]]:
    """(responsible, establishment, admission) of stays begun before a time and still open
    or ended after another."""
    rows = session.execute(
        select(Encounter.responsible_id, Encounter.establishment_id, Encounter.start_at).where(
            Encounter.patient_id == patient_id,
            Encounter.start_at <= started_before,
            or_(Encounter.end_at.is_(None), Encounter.end_at >= ended_after),
        )
    ).all()
    return [(r, e, t) for r, e, t in rows]


def attending_physician_id(session: Session, patient_id: int) -> int | None:
    return session.scalar(select(Patient.attending_physician_id).where(Patient.id == patient_id))


def uninvoiced_acts(
    session: Session, *, patient_id: int, establishment_id: int, act_ids: Sequence[int] | None
) -> Sequence[BillableAct]:
    query = select(BillableAct).where(
        BillableAct.patient_id == patient_id,
        BillableAct.establishment_id == establishment_id,
        BillableAct.invoice_id.is_(None),
    )
    if act_ids is not None:
        query = query.where(BillableAct.id.in_(act_ids))
    return session.scalars(query.order_by(BillableAct.id)).all()


def next_invoice_sequence(session: Session, prefix: str) -> int:
    """The next number after the highest ``prefix`` + 9 digits. The range (leakproof, so it
    drives the unique index even under row-level security, where a LIKE cannot) holds every
    such number in any collation; the LIKE then only filters the rows the range found."""
    last = session.scalar(
        select(Invoice.number)
        .where(
            Invoice.number >= prefix + "0" * 9,
            Invoice.number <= prefix + "9" * 9,
            Invoice.number.like(prefix + "%"),
        )
        .order_by(Invoice.number.desc())
        .limit(1)
    )
    return 1 if last is None else int(last[len(prefix) :]) + 1


def billing_of(
    session: Session, patient_id: int, establishment_ids: Iterable[int]
) -> tuple[Sequence[BillableAct], Sequence[Invoice]]:
    """A patient's billable acts and invoices in the given establishments."""
    ests = list(establishment_ids)
    acts = session.scalars(
        select(BillableAct)
        .where(BillableAct.patient_id == patient_id, BillableAct.establishment_id.in_(ests))
        .order_by(BillableAct.performed_on, BillableAct.id)
    ).all()
    invoices = session.scalars(
        select(Invoice)
        .where(Invoice.patient_id == patient_id, Invoice.establishment_id.in_(ests))
        .order_by(Invoice.issued_at, Invoice.id)
    ).all()
    return acts, invoices
