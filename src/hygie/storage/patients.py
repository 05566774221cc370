"""Queries on patient identities, their registrations, coverage and full record."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TypeVar

from sqlalchemy import Select, Table, func, select, update
from sqlalchemy.orm import InstrumentedAttribute, Session

from hygie.models import (
    Allergy,
    AmcCoverage,
    AmoCoverage,
    Appointment,
    BillableAct,
    CareTeamMember,
    ClinicalNote,
    Condition,
    DeathDeclaration,
    Encounter,
    Invoice,
    Patient,
    PatientRegistration,
    PatientState,
    Prescription,
)
from hygie.models.base import Base
from hygie.storage.common import starts_with

M = TypeVar("M", bound=Base)

# Every table holding rows that belong to one patient, moved as a whole by a merge.
PATIENT_OWNED: tuple[type[Base], ...] = (
    AmoCoverage,
    AmcCoverage,
    Appointment,
    Encounter,
    Allergy,
    Condition,
    ClinicalNote,
    Prescription,
    CareTeamMember,
    BillableAct,
    Invoice,
)


def by_nir_hash(session: Session, nir_hash: str) -> Patient | None:
    return session.scalars(select(Patient).where(Patient.nir_hash == nir_hash)).first()


def with_same_birth_traits(
    session: Session, *, birth_name_key: str, first_name_key: str, birth_date: date
) -> Sequence[Patient]:
    """Active identities sharing birth name, first name and birth date (probable duplicates)."""
    return session.scalars(
        select(Patient)
        .where(
            Patient.birth_name_key == birth_name_key,
            Patient.birth_date == birth_date,
            Patient.first_name_key == first_name_key,
            Patient.state == PatientState.ACTIVE,
        )
        .order_by(Patient.id)
    ).all()


def search(
    session: Session,
    *,
    name_prefix: str,
    birth_date: date | None = None,
    first_name_prefix: str | None = None,
    limit: int = 50,
) -> Sequence[Patient]:
    """Active identities whose birth or used name starts with ``name_prefix`` (a search key)."""

    def by(
        column: InstrumentedAttribute[str] | InstrumentedAttribute[str | None],
    ) -> Sequence[Patient]:
        query = select(Patient).where(
            starts_with(column, name_prefix),
            Patient.state == PatientState.ACTIVE,
        )
        if birth_date is not None:
            query = query.where(Patient.birth_date == birth_date)
        if first_name_prefix:
            query = query.where(
                Patient.first_name_key.startswith(first_name_prefix, autoescape=True)
            )
        return session.scalars(query.order_by(column, Patient.id).limit(limit)).all()

    found = {p.id: p for p in by(Patient.birth_name_key)}
    if len(found) < limit:
        for p in by(Patient.used_name_key):
            found.setdefault(p.id, p)
    return sorted(found.values(), key=lambda p: (p.birth_name_key, p.first_name_key, p.id))[:limit]


def registration(
    session: Session, patient_id: int, establishment_id: int
) -> PatientRegistration | None:
    return session.get(PatientRegistration, (patient_id, establishment_id))


def registration_by_ipp(
    session: Session, establishment_id: int, ipp: str
) -> PatientRegistration | None:
    """The file that bears ``ipp`` in the establishment (IPPs are unique per establishment)."""
    return session.scalars(
        select(PatientRegistration).where(
            PatientRegistration.establishment_id == establishment_id,
            PatientRegistration.ipp == ipp,
        )
    ).first()


def registrations(session: Session, patient_id: int) -> Sequence[PatientRegistration]:
    return session.scalars(
        select(PatientRegistration)
        .where(PatientRegistration.patient_id == patient_id)
        .order_by(PatientRegistration.establishment_id)
    ).all()


@dataclass(frozen=True)
class IdentityWithFiles:
    """Who a patient is and where they have a file: what it takes to write to them."""

    patient_id: int
    birth_name: str
    used_name: str | None
    first_name: str
    birth_date: date
    files: tuple[tuple[int, str], ...]  # (establishment id, IPP), by establishment


def identities_with_files(
    session: Session,
    patient_ids: Collection[int],
    *,
    establishment_ids: Collection[int] | None = None,
) -> dict[int, IdentityWithFiles]:
    """The identities of ``patient_ids`` with their files, in two statements.

    Only clear columns are selected: nothing encrypted (the NIR) is read or decrypted.
    ``establishment_ids``: only the files there (None: every file the transaction sees)."""
    if not patient_ids:
        return {}
    ids = sorted(patient_ids)
    files: dict[int, list[tuple[int, str]]] = {}
    query = select(
        PatientRegistration.patient_id,
        PatientRegistration.establishment_id,
        PatientRegistration.ipp,
    ).where(PatientRegistration.patient_id.in_(ids))
    if establishment_ids is not None:
        query = query.where(PatientRegistration.establishment_id.in_(sorted(establishment_ids)))
    order = (PatientRegistration.patient_id, PatientRegistration.establishment_id)
    for patient_id, establishment_id, ipp in session.execute(query.order_by(*order)):
        files.setdefault(patient_id, []).append((establishment_id, ipp))
    rows = session.execute(
        select(
            Patient.id, Patient.birth_name, Patient.used_name, Patient.first_name,
            Patient.birth_date,
        ).where(Patient.id.in_(ids))
    )  # fmt: skip
    return {
        row.id: IdentityWithFiles(
            patient_id=row.id, birth_name=row.birth_name, used_name=row.used_name,
            first_name=row.first_name, birth_date=row.birth_date,
            files=tuple(files.get(row.id, ())),
        )
        for row in rows
    }  # fmt: skip


def death_of(session: Session, patient_id: int) -> DeathDeclaration | None:
    return session.scalars(
        select(DeathDeclaration).where(DeathDeclaration.patient_id == patient_id)
    ).first()


def amo_coverages(session: Session, patient_id: int) -> Sequence[AmoCoverage]:
    return session.scalars(
        select(AmoCoverage)
        .where(AmoCoverage.patient_id == patient_id)
        .order_by(AmoCoverage.valid_from.desc())
    ).all()


def amc_coverages(session: Session, patient_id: int) -> Sequence[AmcCoverage]:
    return session.scalars(
        select(AmcCoverage)
        .where(AmcCoverage.patient_id == patient_id)
        .order_by(AmcCoverage.valid_from.desc())
    ).all()


def count_active(session: Session) -> int:
    return (
        session.scalar(
            select(func.count()).select_from(Patient).where(Patient.state == PatientState.ACTIVE)
        )
        or 0
    )


def move_owned_rows(session: Session, *, from_id: int, to_id: int) -> dict[str, list[int]]:
    """Re-attach every row of ``from_id`` to ``to_id``; returns the moved ids per table."""
    moved: dict[str, list[int]] = {}
    for model in PATIENT_OWNED:
        table = model.__table__
        assert isinstance(table, Table)  # noqa: S101 - mapped classes have a Table
        ids = list(
            session.scalars(
                select(table.c.id).where(table.c.patient_id == from_id).order_by(table.c.id)
            )
        )
        if ids:
            session.execute(
                update(table).where(table.c.patient_id == from_id).values(patient_id=to_id)
            )
            moved[table.name] = ids
    return moved


@dataclass(frozen=True)
class PatientRecord:
    """Everything of one patient's chart, loaded in a handful of indexed queries."""

    patient: Patient
    registrations: Sequence[PatientRegistration]
    amo: Sequence[AmoCoverage]
    amc: Sequence[AmcCoverage]
    death: DeathDeclaration | None
    allergies: Sequence[Allergy]
    conditions: Sequence[Condition]
    notes: Sequence[ClinicalNote]
    prescriptions: Sequence[Prescription]
    appointments: Sequence[Appointment]
    encounters: Sequence[Encounter]


# The parts of a record, named after the gate's data categories.
RECORD_PARTS = frozenset(
    {"identity", "contact", "coverage", "appointments", "stays", "allergies", "conditions",
     "notes", "prescriptions"}
)  # fmt: skip


def load_record(
    session: Session,
    patient_id: int,
    *,
    parts: frozenset[str] = RECORD_PARTS,
    item_id: int | None = None,
    files: Sequence[PatientRegistration] | None = None,
    notes_limit: int = 50,
    appointments_limit: int = 20,
) -> PatientRecord | None:
    """The patient's record; only the ``parts`` asked for are read (the others are left
    empty), so that a read of one block costs that block's queries. ``item_id``: read only
    that item of the clinical, scheduling or stay parts asked for (one FHIR resource).
    ``files``: the patient's registrations, when the caller has read them already."""
    # The identity and its death declaration, if any, in one statement.
    found = session.execute(
        select(Patient, DeathDeclaration)
        .outerjoin(DeathDeclaration, DeathDeclaration.patient_id == Patient.id)
        .where(Patient.id == patient_id)
    ).first()
    if found is None:
        return None
    patient, death = found
    files = registrations(session, patient_id) if files is None else files

    def rows(part: str, query: Select[M]) -> Sequence[M]:
        if part not in parts:
            return ()
        if item_id is not None:
            entity = query.column_descriptions[0]["entity"]
            query = query.where(entity.id == item_id).limit(None)
        return session.scalars(query).all()

    return PatientRecord(
        patient=patient,
        registrations=files,
        amo=amo_coverages(session, patient_id) if "coverage" in parts else (),
        amc=amc_coverages(session, patient_id) if "coverage" in parts else (),
        death=death if "identity" in parts else None,
        allergies=rows(
            "allergies",
            select(Allergy).where(Allergy.patient_id == patient_id).order_by(Allergy.id),
        ),
        conditions=rows(
            "conditions",
            select(Condition).where(Condition.patient_id == patient_id).order_by(Condition.id),
        ),
        notes=rows(
            "notes",
            select(ClinicalNote)
            .where(ClinicalNote.patient_id == patient_id)
            .order_by(ClinicalNote.written_at.desc())
            .limit(notes_limit),
        ),
        prescriptions=rows(
            "prescriptions",
            select(Prescription)
            .where(Prescription.patient_id == patient_id)
            .order_by(Prescription.prescribed_at.desc()),
        ),
        appointments=rows(
            "appointments",
            select(Appointment)
            .where(Appointment.patient_id == patient_id)
            .order_by(Appointment.start_at.desc())
            .limit(appointments_limit),
        ),
        encounters=rows(
            "stays",
            select(Encounter)
            .where(Encounter.patient_id == patient_id)
            .order_by(Encounter.start_at.desc()),
        ),
    )
