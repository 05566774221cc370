"""Appointments: book, move, cancel, and follow their status, with conflict checks and a
history of every move."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from hygie.errors import ConflictError, ValidationError
from hygie.kit import clock
from hygie.kit.checks import check_int, check_moment
from hygie.kit.text import clean_text
from hygie.kit.time import local_date
from hygie.models import (
    Appointment,
    AppointmentEvent,
    AppointmentStatus,
    Department,
    Establishment,
    Professional,
    Role,
)
from hygie.patients.service import active_patient, ensure_registered
from hygie.storage import care as store
from hygie.storage import common
from hygie.storage import staff as staff_store
from hygie.storage.care import MAX_APPOINTMENT_MINUTES

MIN_DURATION, MAX_DURATION = 5, MAX_APPOINTMENT_MINUTES
CLINICAL_ROLES = {Role.PHYSICIAN, Role.NURSE}

# Allowed status changes; cancelled, done and no-show are final.
_TRANSITIONS: dict[AppointmentStatus, set[AppointmentStatus]] = {
    AppointmentStatus.BOOKED: {
        AppointmentStatus.ARRIVED,
        AppointmentStatus.NO_SHOW,
        AppointmentStatus.CANCELLED,
    },
    AppointmentStatus.ARRIVED: {AppointmentStatus.DONE, AppointmentStatus.CANCELLED},
}


def book_appointment(
    session: Session,
    *,
    patient_id: int,
    practitioner_id: int,
    establishment_id: int,
    start_at: datetime,
    duration_min: int,
    reason: str,
    department_id: int | None = None,
    recorded_by_id: int | None = None,
    now: datetime | None = None,
) -> Appointment:
    now = now or clock.now()
    active_patient(session, patient_id, alive=True)
    common.get(
        session, Establishment, establishment_id, what="establishment", field="establishment_id"
    )
    _check_practitioner(session, practitioner_id, establishment_id, on=start_at)
    if department_id is not None:
        dept = common.get(
            session, Department, department_id, what="department", field="department_id"
        )
        if dept.establishment_id != establishment_id:
            raise ValidationError("belongs to another establishment", field="department_id")
    _check_slot(start_at, duration_min, now)
    why = clean_text(reason, field="reason", max_length=200)
    _check_free(
        session, start_at, duration_min, practitioner_id=practitioner_id, patient_id=patient_id
    )
    ensure_registered(session, patient_id=patient_id, establishment_id=establishment_id)
    appointment = common.add(
        session,
        Appointment(
            patient_id=patient_id,
            practitioner_id=practitioner_id,
            establishment_id=establishment_id,
            department_id=department_id,
            start_at=start_at,
            duration_min=duration_min,
            reason=why,
            status=AppointmentStatus.BOOKED,
        ),
    )
    session.add(
        AppointmentEvent(
            appointment_id=appointment.id,
            kind="booked",
            new_start_at=start_at,
            new_status=AppointmentStatus.BOOKED.value,
            recorded_by_id=recorded_by_id,
        )
    )
    return appointment


def move_appointment(
    session: Session,
    *,
    appointment_id: int,
    new_start_at: datetime,
    new_duration_min: int | None = None,
    note: str | None = None,
    recorded_by_id: int | None = None,
    now: datetime | None = None,
) -> Appointment:
    now = now or clock.now()
    appointment = common.get_for_update(
        session, Appointment, appointment_id, what="appointment", field="appointment_id"
    )
    active_patient(session, appointment.patient_id, alive=True)
    if appointment.status != AppointmentStatus.BOOKED:
        raise ConflictError(
            f"only a booked appointment can be moved (this one is {appointment.status.value})"
        )
    duration = new_duration_min if new_duration_min is not None else appointment.duration_min
    _check_slot(new_start_at, duration, now)
    why = clean_text(note, field="note", max_length=500) if note else None
    _check_practitioner(
        session, appointment.practitioner_id, appointment.establishment_id, on=new_start_at
    )
    _check_free(
        session,
        new_start_at,
        duration,
        practitioner_id=appointment.practitioner_id,
        patient_id=appointment.patient_id,
        exclude_id=appointment.id,
    )
    session.add(
        AppointmentEvent(
            appointment_id=appointment.id,
            kind="moved",
            old_start_at=appointment.start_at,
            new_start_at=new_start_at,
            note=why,
            recorded_by_id=recorded_by_id,
        )
    )
    appointment.start_at = new_start_at
    appointment.duration_min = duration
    return appointment


def cancel_appointment(
    session: Session, *, appointment_id: int, reason: str, recorded_by_id: int | None = None
) -> Appointment:
    why = clean_text(reason, field="reason", max_length=500)
    return set_appointment_status(
        session,
        appointment_id=appointment_id,
        status=AppointmentStatus.CANCELLED.value,
        note=why,
        recorded_by_id=recorded_by_id,
    )


def set_appointment_status(
    session: Session,
    *,
    appointment_id: int,
    status: str,
    note: str | None = None,
    recorded_by_id: int | None = None,
    now: datetime | None = None,
) -> Appointment:
    try:
        new = AppointmentStatus(status)
    except ValueError as exc:
        allowed = ", ".join(s.value for s in AppointmentStatus)
        raise ValidationError(f"unknown status (one of {allowed})", field="status") from exc
    why = clean_text(note, field="note", max_length=500) if note else None
    appointment = common.get_for_update(
        session, Appointment, appointment_id, what="appointment", field="appointment_id"
    )
    if new not in _TRANSITIONS.get(appointment.status, set()):
        raise ConflictError(
            f"an appointment that is {appointment.status.value} cannot become {new.value}",
            field="status",
        )
    _check_status_time(appointment, new, now or clock.now())
    session.add(
        AppointmentEvent(
            appointment_id=appointment.id,
            kind="status",
            old_status=appointment.status.value,
            new_status=new.value,
            note=why,
            recorded_by_id=recorded_by_id,
        )
    )
    appointment.status = new
    return appointment


def _check_status_time(appointment: Appointment, new: AppointmentStatus, now: datetime) -> None:
    """A patient arrives on the day of the appointment; it is done or missed once begun."""
    if new == AppointmentStatus.ARRIVED and local_date(now) != local_date(appointment.start_at):
        raise ConflictError(
            "a patient can only arrive on the day of the appointment", field="status"
        )
    if new in (AppointmentStatus.DONE, AppointmentStatus.NO_SHOW) and now < appointment.start_at:
        raise ConflictError(
            f"an appointment that has not begun cannot be {new.value}", field="status"
        )


def cancel_for_death(
    session: Session, *, patient_id: int, after: datetime, recorded_by_id: int | None
) -> list[int]:
    """Cancel a deceased patient's appointments after the death; returns their ids."""
    cancelled = []
    for appointment in store.future_live_appointments(session, patient_id, after):
        session.add(
            AppointmentEvent(
                appointment_id=appointment.id,
                kind="status",
                old_status=appointment.status.value,
                new_status=AppointmentStatus.CANCELLED.value,
                note="patient deceased",
                recorded_by_id=recorded_by_id,
            )
        )
        appointment.status = AppointmentStatus.CANCELLED
        cancelled.append(appointment.id)
    return cancelled


def _check_slot(start_at: datetime, duration_min: int, now: datetime) -> None:
    check_moment(start_at, field="start_at", now=now)
    if start_at < now - timedelta(minutes=5):
        raise ValidationError("is in the past", field="start_at")
    check_int(duration_min, field="duration_min", low=MIN_DURATION, high=MAX_DURATION)


def _check_practitioner(
    session: Session, practitioner_id: int, establishment_id: int, *, on: datetime
) -> None:
    # Locked: two bookings of the same practitioner are checked for overlap one at a time.
    common.get_for_update(
        session, Professional, practitioner_id, what="practitioner", field="practitioner_id"
    )
    if not staff_store.has_valid_habilitation(
        session,
        professional_id=practitioner_id,
        establishment_id=establishment_id,
        roles=CLINICAL_ROLES,
        on=local_date(on),
    ):
        raise ValidationError(
            "has no clinical habilitation in this establishment on that day",
            field="practitioner_id",
        )


def _check_free(
    session: Session,
    start: datetime,
    duration_min: int,
    *,
    practitioner_id: int,
    patient_id: int,
    exclude_id: int | None = None,
) -> None:
    end = start + timedelta(minutes=duration_min)
    clash = store.overlapping_appointments(
        session, start=start, end=end, practitioner_id=practitioner_id, exclude_id=exclude_id
    )
    if clash:
        raise ConflictError(
            f"the practitioner already has appointment #{clash[0].id} at "
            f"{clash[0].start_at.isoformat()}",
            field="start_at",
        )
    clash = store.overlapping_appointments(
        session, start=start, end=end, patient_id=patient_id, exclude_id=exclude_id
    )
    if clash:
        raise ConflictError(
            f"the patient already has appointment #{clash[0].id} at {clash[0].start_at.isoformat()}",
            field="start_at",
        )
