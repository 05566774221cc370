"""Queries behind exports of patient lists (:mod:`hygie.access.exports`): which patients an
export covers, the items that put them on it, and the requests themselves."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import TypeVar

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


CHUNK = 10_000  # ids per IN list (PostgreSQL takes at most 65,535 parameters)
Row = TypeVar("Row", Appointment, Encounter)


def _by_chunks(
    session: Session, model: type[Row], patient_ids: Collection[int],
    conditions: list[ColumnElement[bool]],
) -> list[Row]:  # fmt: skip
    """Rows of ``model`` for ``patient_ids`` meeting ``conditions``, by start within each
    chunk of ids."""
    ids = list(patient_ids)
    found: list[Row] = []
    for first in range(0, len(ids), CHUNK):
        found += session.scalars(
            select(model)
            .where(model.patient_id.in_(ids[first : first + CHUNK]), *conditions)
            .order_by(model.start_at, model.id)
        ).all()
    return found


def appointments_of(
    session: Session,
    *,
    establishment_id: int,
    patient_ids: Collection[int],
    start: datetime | None,
    end: datetime | None,
    practitioner_id: int | None,
) -> list[Appointment]:
    """The appointments that put ``patient_ids`` on an export."""
    conditions = _appointment_conditions(establishment_id, start, end, practitioner_id)
    return _by_chunks(session, Appointment, patient_ids, conditions)


def stays_of(
    session: Session,
    *,
    establishment_id: int,
    patient_ids: Collection[int],
    start: datetime | None,
    end: datetime | None,
) -> list[Encounter]:
    """The stays that put ``patient_ids`` on an export."""
    return _by_chunks(
        session, Encounter, patient_ids, _stay_conditions(establishment_id, start, end)
    )


def request(session: Session, export_id: int, *, lock: bool = False) -> ExportRequest | None:
    """The request; ``lock``: held until the end of the transaction (PostgreSQL), so that
    two decisions or downloads of one request are serialised."""
    return session.get(ExportRequest, export_id, with_for_update=lock)


def requests(
    session: Session,
    *,
    requested_by_id: int,
    pending_in: Collection[int],
    now: datetime,
    limit: int = 100,
) -> Sequence[ExportRequest]:
    """The last requests made by ``requested_by_id``, then every live one pending approval
    in ``pending_in`` (each list newest first, up to ``limit``)."""
    newest = (ExportRequest.requested_at.desc(), ExportRequest.id.desc())
    mine = session.scalars(
        select(ExportRequest)
        .where(ExportRequest.requested_by_id == requested_by_id)
        .order_by(*newest)
        .limit(limit)
    ).all()
    if not pending_in:
        return mine
    waiting = session.scalars(
        select(ExportRequest)
        .where(ExportRequest.establishment_id.in_(list(pending_in)),
               ExportRequest.status == "pending", ExportRequest.expires_at > now,
               ExportRequest.requested_by_id != requested_by_id)
        .order_by(*newest)
        .limit(limit)
    ).all()  # fmt: skip
    return [*mine, *waiting]
