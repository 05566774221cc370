"""Queries behind the access gate: where a patient has a file, identity summaries within a
set of establishments, break-the-glass grants, dispensing relationships."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select, true, union_all
from sqlalchemy.orm import Session

from hygie.models import (
    Allergy,
    AmcCoverage,
    AmoCoverage,
    Appointment,
    BreakGlass,
    ClinicalNote,
    Condition,
    Encounter,
    Patient,
    PatientRegistration,
    PatientState,
    Prescription,
    PrescriptionStatus,
)
from hygie.storage.common import starts_with


def establishments_of(session: Session, patient_id: int) -> frozenset[int]:
    return frozenset(
        session.scalars(
            select(PatientRegistration.establishment_id).where(
                PatientRegistration.patient_id == patient_id
            )
        )
    )


def search_in(
    session: Session,
    *,
    establishment_ids: Iterable[int],
    name_key: str,
    birth_date: date | None,
    first_name_key: str | None,
    limit: int,
) -> Sequence[tuple[Patient, frozenset[int]]]:
    """Active identities with a file in one of ``establishment_ids`` whose birth or used
    name starts with ``name_key``, with the establishments (among those) of each."""
    ids = list(establishment_ids)
    found: dict[int, Patient] = {}
    for column in (Patient.birth_name_key, Patient.used_name_key):
        query = (
            select(Patient)
            .join(PatientRegistration, PatientRegistration.patient_id == Patient.id)
            .where(
                PatientRegistration.establishment_id.in_(ids),
                starts_with(column, name_key),
                Patient.state == PatientState.ACTIVE,
            )
        )
        if birth_date is not None:
            query = query.where(Patient.birth_date == birth_date)
        if first_name_key:
            query = query.where(Patient.first_name_key.startswith(first_name_key, autoescape=True))
        for patient in session.scalars(query.order_by(column, Patient.id).limit(limit)):
            found.setdefault(patient.id, patient)
    patients = sorted(found.values(), key=lambda p: (p.birth_name_key, p.first_name_key, p.id))
    patients = patients[:limit]
    where: dict[int, set[int]] = {p.id: set() for p in patients}
    for pid, est in session.execute(
        select(PatientRegistration.patient_id, PatientRegistration.establishment_id).where(
            PatientRegistration.patient_id.in_(list(where)),
            PatientRegistration.establishment_id.in_(ids),
        )
    ):
        where[pid].add(est)
    return [(p, frozenset(where[p.id])) for p in patients]


def live_break_glass(
    session: Session, *, user_id: int, patient_id: int, at: datetime
) -> BreakGlass | None:
    return session.scalars(
        select(BreakGlass)
        .where(
            BreakGlass.user_id == user_id,
            BreakGlass.patient_id == patient_id,
            BreakGlass.granted_at <= at,
            BreakGlass.expires_at > at,
        )
        .order_by(BreakGlass.expires_at.desc())
    ).first()


def has_prescription_to_dispense(
    session: Session, *, patient_id: int, establishment_ids: Iterable[int]
) -> bool:
    return (
        session.scalars(
            select(Prescription.id).where(
                Prescription.patient_id == patient_id,
                Prescription.establishment_id.in_(list(establishment_ids)),
                Prescription.status == PrescriptionStatus.ACTIVE,
            )
        ).first()
        is not None
    )


def events_for_patient(session: Session, patient_id: int, *, limit: int = 1000) -> Sequence[Any]:
    """The trail's events that concern one patient, newest first, whether already sealed
    into the chain or not (an access is in the trail as soon as it commits)."""
    from hygie.models import AuditEvent, AuditPatient

    return session.scalars(
        select(AuditEvent)
        .join(AuditPatient, AuditPatient.event_id == AuditEvent.id)
        .where(AuditPatient.patient_id == patient_id)
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .limit(limit)
    ).all()


def pending_break_glass(session: Session, establishment_ids: Iterable[int]) -> Sequence[BreakGlass]:
    return session.scalars(
        select(BreakGlass)
        .where(
            BreakGlass.reviewed_at.is_(None),
            BreakGlass.establishment_id.in_(list(establishment_ids)),
        )
        .order_by(BreakGlass.granted_at)
    ).all()


@dataclass(frozen=True)
class Criteria:
    """What a patient search may combine: name prefixes as search keys (``any_name_key``
    matches the birth, used or first name), exact birth date and sex, an exact identifier
    (the NIR's keyed hash, or a file number in one establishment)."""

    family_key: str | None = None
    given_key: str | None = None
    any_name_key: str | None = None
    birth_date: date | None = None
    sex: str | None = None
    nir_hash: str | None = None
    ipp: tuple[int, str] | None = None  # (establishment id, IPP)


def find_in(
    session: Session,
    *,
    establishment_ids: Iterable[int],
    criteria: Criteria,
    offset: int,
    limit: int,
) -> tuple[int, Sequence[tuple[Patient, frozenset[int]]]]:
    """How many active identities with a file in one of ``establishment_ids`` match
    ``criteria``, and one page of them with their establishments among those.

    A page is ordered by the name that matched (the birth name, or the used name for a
    patient found by it), then first name and id. The matches are read from the files of
    those establishments, which carry their patient's search keys (migration 0007): each
    name to match is one range of one index, holding only the establishments' active
    patients; the identity itself is visited only for criteria the files do not carry
    (birth date, sex, NIR)."""
    ids = list(establishment_ids)
    c = criteria
    R = PatientRegistration
    # The bare column, as the partial indexes say it (``IS true`` would not use them).
    rest: list[ColumnElement[bool]] = [R.active.expression, R.establishment_id.in_(ids)]
    if c.given_key:
        rest.append(starts_with(R.first_name_key, c.given_key))
    if c.ipp is not None:
        est, ipp = c.ipp
        rest += [R.establishment_id == est, R.ipp == ipp]
    on_identity: list[ColumnElement[bool]] = []
    if c.birth_date is not None:
        on_identity.append(Patient.birth_date == c.birth_date)
    if c.sex is not None:
        on_identity.append(Patient.sex == c.sex)
    if c.nir_hash is not None:
        on_identity.append(Patient.nir_hash == c.nir_hash)
    if on_identity:  # a semi-join the planner may start from the identity's indexes
        rest.append(R.patient_id.in_(select(Patient.id).where(*on_identity)))
    names = (R.birth_name_key, R.used_name_key)
    branches: list[tuple[Any, str | None]] = []
    if c.family_key:
        branches = [(column, c.family_key) for column in names]
        if c.any_name_key:
            rest.append(or_(*(starts_with(col, c.any_name_key)
                              for col in (*names, R.first_name_key))))  # fmt: skip
    elif c.any_name_key:
        branches = [(col, c.any_name_key) for col in (*names, R.first_name_key)]
    else:  # an identifier alone
        branches = [(R.birth_name_key, None)]
    matched = union_all(
        *(
            select(column.label("k"), R.first_name_key.label("f"), R.patient_id.label("id")).where(
                starts_with(column, key) if key else true(), *rest
            )
            for column, key in branches
        )
    ).subquery()
    # One line per identity (found by two names or in two establishments, it keeps the
    # first in order).
    found = (
        select(matched.c.id, func.min(matched.c.k).label("k"), func.min(matched.c.f).label("f"))
        .group_by(matched.c.id)
        .subquery()
    )
    rows = session.execute(
        select(found.c.id, func.count().over())
        .order_by(found.c.k, found.c.f, found.c.id)
        .offset(offset)
        .limit(limit)
    ).all()
    if rows:
        total = int(rows[0][1])
    elif offset == 0 and limit > 0:
        total = 0
    else:  # past the end, or a count alone (``_count=0``): count apart
        total = session.scalar(select(func.count()).select_from(found)) or 0
    page = [int(r[0]) for r in rows]
    by_id = {p.id: p for p in session.scalars(select(Patient).where(Patient.id.in_(page)))}
    patients = [by_id[i] for i in page if i in by_id]
    where: dict[int, set[int]] = {p.id: set() for p in patients}
    if where:
        for pid, est in session.execute(
            select(PatientRegistration.patient_id, PatientRegistration.establishment_id).where(
                PatientRegistration.patient_id.in_(list(where)),
                PatientRegistration.establishment_id.in_(ids),
            )
        ):
            where[pid].add(est)
    return total, [(p, frozenset(where[p.id])) for p in patients]


# The table holding each kind of item a patient's record is made of.
ITEM_MODELS: dict[str, Any] = {
    "allergy": Allergy,
    "condition": Condition,
    "prescription": Prescription,
    "note": ClinicalNote,
    "appointment": Appointment,
    "encounter": Encounter,
    "amo": AmoCoverage,
    "amc": AmcCoverage,
}


def patient_of_item(session: Session, kind: str, item_id: int) -> int | None:
    """The patient an item of ``kind`` (a key of ITEM_MODELS) belongs to, if it exists."""
    model = ITEM_MODELS[kind]
    found: int | None = session.scalar(select(model.patient_id).where(model.id == item_id))
    return found
