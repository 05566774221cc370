"""Queries behind the gate's lists (:mod:`hygie.access.lists`): appointments and stays in a
set of establishments, filtered and paged with their total; and the staff directory
(professionals and their habilitations), which holds no patient data."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from hygie.models import (
    Appointment,
    AppointmentStatus,
    Encounter,
    EncounterStatus,
    Habilitation,
    Professional,
    User,
)


def _page(
    session: Session, model: Any, conditions: list[ColumnElement[bool]], order: Sequence[Any],
    offset: int, limit: int,
) -> tuple[int, Sequence[Any]]:  # fmt: skip
    total = session.scalar(select(func.count()).select_from(model).where(*conditions)) or 0
    if limit <= 0:
        return total, []
    rows = session.scalars(
        select(model).where(*conditions).order_by(*order).offset(offset).limit(limit)
    ).all()
    return total, rows


def appointments(
    session: Session,
    *,
    establishment_ids: Collection[int],
    patient_id: int | None = None,
    practitioner_id: int | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    statuses: Collection[AppointmentStatus] = (),
    offset: int = 0,
    limit: int = 20,
) -> tuple[int, Sequence[Appointment]]:
    """How many appointments in ``establishment_ids`` match, and one page of them (by start,
    then id). ``start`` included, ``end`` excluded (on the appointment's start)."""
    conditions: list[ColumnElement[bool]] = [
        Appointment.establishment_id.in_(list(establishment_ids))
    ]
    if patient_id is not None:
        conditions.append(Appointment.patient_id == patient_id)
    if practitioner_id is not None:
        conditions.append(Appointment.practitioner_id == practitioner_id)
    if start is not None:
        conditions.append(Appointment.start_at >= start)
    if end is not None:
        conditions.append(Appointment.start_at < end)
    if statuses:
        conditions.append(Appointment.status.in_(list(statuses)))
    order = (Appointment.start_at, Appointment.id)
    return _page(session, Appointment, conditions, order, offset, limit)


def encounters(
    session: Session,
    *,
    establishment_ids: Collection[int],
    patient_id: int | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    statuses: Collection[EncounterStatus] = (),
    offset: int = 0,
    limit: int = 20,
) -> tuple[int, Sequence[Encounter]]:
    """How many stays in ``establishment_ids`` match, and one page of them (by start, then
    id). A stay matches a period [start, end) when it overlaps it (an open stay runs on)."""
    conditions: list[ColumnElement[bool]] = [
        Encounter.establishment_id.in_(list(establishment_ids))
    ]
    if patient_id is not None:
        conditions.append(Encounter.patient_id == patient_id)
    if end is not None:
        conditions.append(Encounter.start_at < end)
    if start is not None:
        conditions.append(or_(Encounter.end_at.is_(None), Encounter.end_at >= start))
    if statuses:
        conditions.append(Encounter.status.in_(list(statuses)))
    order = (Encounter.start_at, Encounter.id)
    return _page(session, Encounter, conditions, order, offset, limit)


# --- the staff directory (no patient data) ---------------------------------------------------
def professional(session: Session, professional_id: int) -> Professional | None:
    return session.get(Professional, professional_id)


def professionals(
    session: Session,
    *,
    family: str | None = None,
    rpps: str | None = None,
    offset: int = 0,
    limit: int = 20,
) -> tuple[int, Sequence[Professional]]:
    """Professionals whose family name starts with ``family`` (case-insensitive) and / or
    whose RPPS is ``rpps``, by family name, given name, id."""
    conditions: list[ColumnElement[bool]] = []
    if family is not None:
        conditions.append(
            func.lower(Professional.family_name).startswith(family.lower(), autoescape=True)
        )
    if rpps is not None:
        conditions.append(Professional.rpps == rpps)
    order = (Professional.family_name, Professional.given_name, Professional.id)
    return _page(session, Professional, conditions, order, offset, limit)


def habilitation(session: Session, habilitation_id: int) -> tuple[Habilitation, User] | None:
    """A habilitation held by the account of a professional, with that account."""
    row = session.execute(
        select(Habilitation, User)
        .join(User, User.id == Habilitation.user_id)
        .where(Habilitation.id == habilitation_id, User.professional_id.is_not(None))
    ).first()
    return None if row is None else (row[0], row[1])


def habilitations(
    session: Session,
    *,
    professional_id: int | None = None,
    establishment_id: int | None = None,
    offset: int = 0,
    limit: int = 20,
) -> tuple[int, Sequence[tuple[Habilitation, User]]]:
    """Habilitations held by accounts of professionals, filtered, by id, with the account."""
    conditions: list[ColumnElement[bool]] = [User.professional_id.is_not(None)]
    if professional_id is not None:
        conditions.append(User.professional_id == professional_id)
    if establishment_id is not None:
        conditions.append(Habilitation.establishment_id == establishment_id)
    joined = select(Habilitation, User).join(User, User.id == Habilitation.user_id)
    total = (
        session.scalar(
            select(func.count())
            .select_from(Habilitation)
            .join(User, User.id == Habilitation.user_id)
            .where(*conditions)
        )
        or 0
    )
    if limit <= 0:
        return total, []
    rows = session.execute(
        joined.where(*conditions).order_by(Habilitation.id).offset(offset).limit(limit)
    ).all()
    return total, [(h, u) for h, u in rows]
