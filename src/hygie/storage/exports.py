"""Queries behind exports of patient lists (:mod:`hygie.access.exports`): which patients an
export covers, the items that put them on it, and the requests themselves."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from hygie.models import (
    Appointment,
    AppointmentStatus,
    Encounter,
    ExportRequest,
    Patient,
    PatientRegistration,
    PatientState,
)

BASES = ("files", "appointments", "stays")


def _appointment_conditions(
    establishment_id: int, start: datetime | None, end: datetime | None,
    practitioner_id: int | None,
) -> list[ColumnElement[bool]]:  # fmt: skip
    conditions: list[ColumnElement[bool]] = [
        Appointment.establishment_id == establishment_id,
        Appointment.status != AppointmentStatus.CANCELLED,
    ]
    if start is not None:
        conditions.append(Appointment.start_at >= start)
    if end is not None:
        conditions.append(Appointment.start_at < end)
    if practitioner_id is not None:
        conditions.append(Appointment.practitioner_id == practitioner_id)
    return conditions


def _stay_conditions(
    establishment_id: int, start: datetime | None, end: datetime | None
) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [Encounter.establishment_id == establishment_id]
    if end is not None:
        conditions.append(Encounter.start_at < end)
    if start is not None:
        conditions.append(or_(Encounter.end_at.is_(None), Encounter.end_at >= start))
    return conditions


def patients_covered(
    session: Session,
    *,
    establishment_id: int,
    basis: str,
    start: datetime | None = None,
    end: datetime | None = None,
    practitioner_id: int | None = None,
) -> list[int]:
    """The ids of the (unmerged) patients an export of ``basis`` covers, ascending: the
    establishment's files, or the patients with an appointment (not cancelled) or a stay
    there in ``[start, end)``."""
    if basis == "files":
        query = select(PatientRegistration.patient_id).where(
            PatientRegistration.establishment_id == establishment_id
        )
    elif basis == "appointments":
        query = select(Appointment.patient_id).where(
            *_appointment_conditions(establishment_id, start, end, practitioner_id)
        )
    elif basis == "stays":
        query = select(Encounter.patient_id).where(*_stay_conditions(establishment_id, start, end))
    else:
        raise ValueError(f"unknown export basis {basis!r}")
    ids = query.subquery()
    rows = session.scalars(
        select(Patient.id)
        .where(Patient.id.in_(select(ids.c.patient_id)), Patient.state == PatientState.ACTIVE)
        .order_by(Patient.id)
    )
    return list(rows)


def appointments_of(
    session: Session,
    *,
    establishment_id: int,
    patient_ids: Collection[int],
    start: datetime | None,
    end: datetime | None,
    practitioner_id: int | None,
) -> Sequence[Appointment]:
    """The appointments that put ``patient_ids`` on an export, by start."""
    return session.scalars(
        select(Appointment)
        .where(
            Appointment.patient_id.in_(list(patient_ids)),
            *_appointment_conditions(establishment_id, start, end, practitioner_id),
        )
        .order_by(Appointment.start_at, Appointment.id)
    ).all()


def stays_of(
    session: Session,
    *,
    establishment_id: int,
    patient_ids: Collection[int],
    start: datetime | None,
    end: datetime | None,
) -> Sequence[Encounter]:
    """The stays that put ``patient_ids`` on an export, by start."""
    return session.scalars(
        select(Encounter)
        .where(
            Encounter.patient_id.in_(list(patient_ids)),
            *_stay_conditions(establishment_id, start, end),
        )
        .order_by(Encounter.start_at, Encounter.id)
    ).all()


def request(session: Session, export_id: int) -> ExportRequest | None:
    return session.get(ExportRequest, export_id)


def requests(
    session: Session,
    *,
    requested_by_id: int | None,
    pending_in: Collection[int],
    limit: int = 100,
) -> Sequence[ExportRequest]:
    """Requests made by ``requested_by_id`` and those pending approval in ``pending_in``,
    newest first."""
    conditions: list[ColumnElement[bool]] = []
    if requested_by_id is not None:
        conditions.append(ExportRequest.requested_by_id == requested_by_id)
    if pending_in:
        conditions.append(
            (ExportRequest.establishment_id.in_(list(pending_in)))
            & (ExportRequest.status == "pending")
        )
    if not conditions:
        return []
    return session.scalars(
        select(ExportRequest)
        .where(or_(*conditions))
        .order_by(ExportRequest.requested_at.desc(), ExportRequest.id.desc())
        .limit(limit)
    ).all()
