"""Encounters: outpatient visits, and hospital stays (admission, transfers, discharge)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from hygie.errors import ConflictError, ValidationError
from hygie.kit import clock
from hygie.kit.checks import check_int, check_moment
from hygie.kit.text import clean_text
from hygie.models import (
    Department,
    Encounter,
    EncounterKind,
    EncounterStatus,
    Establishment,
    Movement,
    Profession,
    Professional,
)
from hygie.patients.service import active_patient, check_during_life, ensure_registered
from hygie.scheduling.service import MAX_DURATION, MIN_DURATION
from hygie.storage import care as store
from hygie.storage import common

DISCHARGE_DESTINATIONS = {"home", "transfer", "nursing_home", "deceased", "against_advice", "other"}


def admit(
    session: Session,
    *,
    patient_id: int,
    establishment_id: int,
    department_id: int,
    responsible_id: int,
    at: datetime,
    reason: str,
    bed: str | None = None,
    now: datetime | None = None,
) -> Encounter:
    """Open a hospital stay in a unit (and bed)."""
    now = now or clock.now()
    patient = active_patient(session, patient_id, alive=True)
    common.get(
        session, Establishment, establishment_id, what="establishment", field="establishment_id"
    )
    _unit_of(session, department_id, establishment_id)
    _check_responsible(session, responsible_id)
    _check_time(at, now, field="at")
    check_during_life(session, patient, at, field="at")
    why = clean_text(reason, field="reason", max_length=200)
    bed_label = _check_bed(session, department_id, bed)
    if store.open_stay(session, patient_id) is not None:
        raise ConflictError("the patient already has a stay in progress", field="patient_id")
    overlapping = store.stay_from(session, patient_id, at)
    if overlapping is not None:
        raise ConflictError(f"overlaps the patient's stay #{overlapping.id}", field="at")
    ensure_registered(session, patient_id=patient_id, establishment_id=establishment_id)
    encounter = common.add(
        session,
        Encounter(
            patient_id=patient_id,
            establishment_id=establishment_id,
            kind=EncounterKind.INPATIENT,
            status=EncounterStatus.IN_PROGRESS,
            department_id=department_id,
            responsible_id=responsible_id,
            start_at=at,
            reason=why,
        ),
    )
    session.add(
        Movement(encounter_id=encounter.id, department_id=department_id, bed=bed_label, start_at=at)
    )
    return encounter


def transfer(
    session: Session,
    *,
    encounter_id: int,
    department_id: int,
    at: datetime,
    bed: str | None = None,
    now: datetime | None = None,
) -> Movement:
    """Move an in-progress stay to another unit (mutation)."""
    now = now or clock.now()
    encounter = _open_inpatient(session, encounter_id)
    _unit_of(session, department_id, encounter.establishment_id)
    _check_time(at, now, field="at")
    patient = active_patient(session, encounter.patient_id)
    check_during_life(session, patient, at, field="at")
    current = store.current_movement(session, encounter.id)
    if current is None:  # pragma: no cover - an open stay always has a current movement
        raise ConflictError("the stay has no current unit")
    if at < current.start_at:
        raise ValidationError("is before the patient entered the current unit", field="at")
    wanted_bed = clean_text(bed, field="bed", max_length=20) if bed else None
    if current.department_id == department_id and wanted_bed == current.bed:
        raise ConflictError("the patient is already in that unit and bed", field="department_id")
    bed_label = _check_bed(session, department_id, wanted_bed)
    current.end_at = at
    encounter.department_id = department_id
    return common.add(
        session,
        Movement(
            encounter_id=encounter.id, department_id=department_id, bed=bed_label, start_at=at
        ),
    )


def discharge(
    session: Session,
    *,
    encounter_id: int,
    at: datetime,
    destination: str = "home",
    now: datetime | None = None,
) -> Encounter:
    now = now or clock.now()
    encounter = _open_inpatient(session, encounter_id)
    _check_time(at, now, field="at")
    if destination not in DISCHARGE_DESTINATIONS:
        raise ValidationError(
            f"unknown destination (one of {', '.join(sorted(DISCHARGE_DESTINATIONS))})",
            field="destination",
        )
    current = store.current_movement(session, encounter.id)
    if at < encounter.start_at or (current is not None and at < current.start_at):
        raise ValidationError("is before the admission or the last transfer", field="at")
    if current is not None:
        current.end_at = at
    encounter.end_at = at
    encounter.status = EncounterStatus.FINISHED
    encounter.discharge_destination = destination
    return encounter


def discharge_for_death(session: Session, *, patient_id: int, died_at: datetime) -> int | None:
    """Close the stay in progress of a patient who died; returns its id, if any."""
    stay = store.open_stay(session, patient_id)
    if stay is None:
        return None
    current = store.current_movement(session, stay.id)
    end = max(died_at, current.start_at if current is not None else stay.start_at)
    if current is not None:
        current.end_at = end
    stay.end_at = end
    stay.status = EncounterStatus.FINISHED
    stay.discharge_destination = "deceased"
    return stay.id


def record_visit(
    session: Session,
    *,
    patient_id: int,
    establishment_id: int,
    department_id: int,
    responsible_id: int,
    at: datetime,
    duration_min: int,
    reason: str,
    now: datetime | None = None,
) -> Encounter:
    """An outpatient consultation, recorded once it has taken place."""
    now = now or clock.now()
    patient = active_patient(session, patient_id)
    common.get(
        session, Establishment, establishment_id, what="establishment", field="establishment_id"
    )
    _unit_of(session, department_id, establishment_id)
    _check_responsible(session, responsible_id)
    _check_time(at, now, field="at")
    check_during_life(session, patient, at, field="at")
    check_int(duration_min, field="duration_min", low=MIN_DURATION, high=MAX_DURATION)
    ensure_registered(session, patient_id=patient_id, establishment_id=establishment_id)
    return common.add(
        session,
        Encounter(
            patient_id=patient_id,
            establishment_id=establishment_id,
            kind=EncounterKind.OUTPATIENT,
            status=EncounterStatus.FINISHED,
            department_id=department_id,
            responsible_id=responsible_id,
            start_at=at,
            end_at=at + timedelta(minutes=duration_min),
            reason=clean_text(reason, field="reason", max_length=200),
        ),
    )


def _open_inpatient(session: Session, encounter_id: int) -> Encounter:
    encounter = common.get_for_update(
        session, Encounter, encounter_id, what="stay", field="encounter_id"
    )
    if encounter.kind != EncounterKind.INPATIENT or encounter.status != EncounterStatus.IN_PROGRESS:
        raise ConflictError("this encounter is not a stay in progress", field="encounter_id")
    return encounter


def _unit_of(session: Session, department_id: int, establishment_id: int) -> Department:
    # Locked: bed checks in one unit run one at a time.
    dept = common.get_for_update(
        session, Department, department_id, what="department", field="department_id"
    )
    if dept.establishment_id != establishment_id:
        raise ValidationError("belongs to another establishment", field="department_id")
    return dept


def _check_responsible(session: Session, professional_id: int) -> None:
    prof = common.get(
        session, Professional, professional_id, what="professional", field="responsible_id"
    )
    if prof.profession not in (Profession.PHYSICIAN, Profession.MIDWIFE):
        raise ValidationError("must be a physician or a midwife", field="responsible_id")


def _check_bed(session: Session, department_id: int, bed: str | None) -> str | None:
    if not bed:
        return None
    label = clean_text(bed, field="bed", max_length=20)
    if store.bed_taken(session, department_id=department_id, bed=label):
        raise ConflictError(f"bed {label} is occupied", field="bed")
    return label


def _check_time(at: datetime, now: datetime, *, field: str) -> None:
    check_moment(at, field=field, now=now)
    if at > now + timedelta(minutes=5):
        raise ValidationError("is in the future", field=field)
