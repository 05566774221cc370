"""Queries behind the trail's search by security officers (``access.audit_search``):
events of some establishments (a patient filed there, or an account habilitated there),
narrowed by patient, account, professional and period."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, func, or_, select
from sqlalchemy.orm import Session

from hygie.models import AuditEvent, AuditPatient, Habilitation, PatientRegistration, User


def _visible(establishments: list[int]) -> ColumnElement[bool]:
    of_patients = exists().where(
        AuditPatient.event_id == AuditEvent.id,
        PatientRegistration.patient_id == AuditPatient.patient_id,
        PatientRegistration.establishment_id.in_(establishments),
    )
    of_accounts = AuditEvent.user_id.in_(
        select(Habilitation.user_id).where(Habilitation.establishment_id.in_(establishments))
    )
    return or_(of_patients, of_accounts)


def _conditions(
    establishments: list[int],
    *,
    patient_id: int | None,
    username: str | None,
    professional_id: int | None,
    start: datetime | None,
    end: datetime | None,
    action: str | None = None,
    outcome: str | None = None,
) -> list[ColumnElement[bool]]:
    conditions = [_visible(establishments)]
    if action is not None:
        conditions.append(AuditEvent.action == action)
    if outcome is not None:
        conditions.append(AuditEvent.outcome == outcome)
    if patient_id is not None:
        conditions.append(
            exists().where(
                AuditPatient.event_id == AuditEvent.id,
                AuditPatient.patient_id == patient_id,
                PatientRegistration.patient_id == AuditPatient.patient_id,
                PatientRegistration.establishment_id.in_(establishments),
            )
        )
    if username is not None:
        conditions.append(AuditEvent.username == username)
    if professional_id is not None:
        conditions.append(
            AuditEvent.user_id.in_(select(User.id).where(User.professional_id == professional_id))
        )
    if start is not None:
        conditions.append(AuditEvent.at >= start)
    if end is not None:
        conditions.append(AuditEvent.at < end)
    return conditions


def _select(conditions: list[ColumnElement[bool]]) -> Any:
    """Events with their account's display name and professional."""
    return (
        select(AuditEvent, User.display_name, User.professional_id)
        .outerjoin(User, User.id == AuditEvent.user_id)
        .where(and_(*conditions))
    )


def search_events(
    session: Session,
    establishments: Iterable[int],
    *,
    patient_id: int | None = None,
    username: str | None = None,
    professional_id: int | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    action: str | None = None,
    outcome: str | None = None,
    offset: int,
    limit: int,
) -> tuple[int, Sequence[Any]]:
    """How many events of ``establishments`` match, and one page of them, newest first:
    rows of (event, account display name, account professional id)."""
    conditions = _conditions(
        sorted(establishments), patient_id=patient_id, username=username,
        professional_id=professional_id, start=start, end=end, action=action, outcome=outcome,
    )  # fmt: skip
    total = session.scalar(select(func.count()).select_from(AuditEvent).where(*conditions))
    rows = session.execute(
        _select(conditions)
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .offset(offset)
        .limit(limit)
    ).all()
    return total or 0, rows


def event_of(session: Session, establishments: Iterable[int], event_id: int) -> Sequence[Any]:
    """The event ``event_id`` if it belongs to ``establishments`` (zero or one row)."""
    return session.execute(
        _select([AuditEvent.id == event_id, _visible(sorted(establishments))])
    ).all()


def filed_in(
    session: Session, patient_ids: Iterable[int], establishments: Iterable[int]
) -> set[int]:
    """Those of ``patient_ids`` with a file in one of ``establishments``."""
    return set(
        session.scalars(
            select(PatientRegistration.patient_id).where(
                PatientRegistration.patient_id.in_(sorted(patient_ids)),
                PatientRegistration.establishment_id.in_(sorted(establishments)),
            )
        )
    )
