"""The clinical record: allergies, conditions (CIM-10), notes, prescriptions, care team."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from hygie import reference
from hygie.clinical.allergy_check import allergy_concerns_drug
from hygie.errors import ConflictError, ValidationError
from hygie.kit import clock
from hygie.kit.checks import check_day, check_int
from hygie.kit.text import clean_text
from hygie.kit.time import local_date
from hygie.models import (
    Allergy,
    AllergySeverity,
    CareTeamMember,
    CareTeamRole,
    ClinicalNote,
    ClinicalStatus,
    Condition,
    Encounter,
    Establishment,
    NoteKind,
    Prescription,
    PrescriptionStatus,
    Profession,
    Professional,
    Route,
)
from hygie.patients.service import active_patient, check_registered
from hygie.storage import care as store
from hygie.storage import common

MAX_NOTE_LENGTH = 20_000
PRESCRIBERS = {Profession.PHYSICIAN, Profession.MIDWIFE}
CLINICIANS = {Profession.PHYSICIAN, Profession.MIDWIFE, Profession.NURSE, Profession.PHARMACIST}


def record_allergy(
    session: Session,
    *,
    patient_id: int,
    establishment_id: int,
    substance: str,
    reaction: str,
    severity: str,
    recorded_by_id: int,
    drug_code: str | None = None,
) -> Allergy:
    active_patient(session, patient_id)
    _file(session, patient_id, establishment_id)
    _clinician(session, recorded_by_id, CLINICIANS, field="recorded_by_id")
    what = clean_text(substance, field="substance", max_length=200)
    if drug_code is not None and drug_code not in reference.drugs():
        raise ValidationError(f"unknown drug code {drug_code}", field="drug_code")
    try:
        level = AllergySeverity(severity)
    except ValueError as exc:
        raise ValidationError("must be mild, moderate or severe", field="severity") from exc
    return common.add(
        session,
        Allergy(
            patient_id=patient_id,
            establishment_id=establishment_id,
            substance=what,
            drug_code=drug_code,
            reaction=clean_text(reaction, field="reaction", max_length=200),
            severity=level,
            recorded_by_id=recorded_by_id,
        ),
    )


def add_condition(
    session: Session,
    *,
    patient_id: int,
    establishment_id: int,
    code: str,
    recorded_by_id: int,
    onset_date: date | None = None,
    today: date | None = None,
) -> Condition:
    today = today or local_date(clock.now())
    if onset_date is not None:
        check_day(onset_date, field="onset_date")
    patient = active_patient(session, patient_id)
    _file(session, patient_id, establishment_id)
    _clinician(
        session, recorded_by_id, {Profession.PHYSICIAN, Profession.MIDWIFE}, field="recorded_by_id"
    )
    entry = reference.cim10_codes().get(code.strip().upper())
    if entry is None:
        raise ValidationError(f"{code!r} is not a CIM-10 code of the shipped list", field="code")
    if onset_date is not None and not patient.birth_date <= onset_date <= today:
        raise ValidationError("must lie between the birth date and today", field="onset_date")
    return common.add(
        session,
        Condition(
            patient_id=patient_id,
            establishment_id=establishment_id,
            code=entry.code,
            label=entry.label,
            onset_date=onset_date,
            recorded_by_id=recorded_by_id,
        ),
    )


def write_note(
    session: Session,
    *,
    patient_id: int,
    establishment_id: int,
    author_id: int,
    kind: str,
    text: str,
    encounter_id: int | None = None,
) -> ClinicalNote:
    active_patient(session, patient_id)
    _file(session, patient_id, establishment_id)
    _clinician(session, author_id, CLINICIANS, field="author_id")
    try:
        note_kind = NoteKind(kind)
    except ValueError as exc:
        allowed = ", ".join(k.value for k in NoteKind)
        raise ValidationError(f"unknown note type (one of {allowed})", field="kind") from exc
    body = clean_text(text, field="text", max_length=MAX_NOTE_LENGTH)
    _check_encounter(session, encounter_id, patient_id)
    return common.add(
        session,
        ClinicalNote(
            patient_id=patient_id,
            establishment_id=establishment_id,
            encounter_id=encounter_id,
            author_id=author_id,
            kind=note_kind,
            text=body,
        ),
    )


@dataclass(frozen=True)
class AllergyConflict:
    allergy_id: int
    substance: str
    severity: str


def allergy_conflicts(
    session: Session, *, patient_id: int, drug_code: str
) -> list[AllergyConflict]:
    """The patient's active allergies that concern this drug."""
    drug = reference.drugs().get(drug_code)
    if drug is None:
        raise ValidationError(f"unknown drug code {drug_code!r}", field="drug_code")
    return [
        AllergyConflict(a.id, a.substance, a.severity.value)
        for a in store.active_allergies(session, patient_id)
        if allergy_concerns_drug(substance=a.substance, allergen_drug_code=a.drug_code, drug=drug)
    ]


def prescribe(
    session: Session,
    *,
    patient_id: int,
    establishment_id: int,
    prescriber_id: int,
    drug_code: str,
    dose: str,
    frequency: str,
    duration_days: int,
    route: str | None = None,
    encounter_id: int | None = None,
    allergy_override_reason: str | None = None,
) -> Prescription:
    """Prescribe a drug of the shipped list. A drug the patient is allergic to is refused
    unless the prescriber gives a reason to override the warning."""
    active_patient(session, patient_id, alive=True)
    _file(session, patient_id, establishment_id)
    _clinician(session, prescriber_id, PRESCRIBERS, field="prescriber_id")
    drug = reference.drugs().get(drug_code)
    if drug is None:
        raise ValidationError(f"unknown drug code {drug_code!r}", field="drug_code")
    try:
        how = Route(route or drug.route)
    except ValueError as exc:
        raise ValidationError(
            f"unknown route (one of {', '.join(r.value for r in Route)})", field="route"
        ) from exc
    check_int(duration_days, field="duration_days", low=1, high=365)
    amount = clean_text(dose, field="dose", max_length=100)
    often = clean_text(frequency, field="frequency", max_length=100)
    _check_encounter(session, encounter_id, patient_id)
    conflicts = allergy_conflicts(session, patient_id=patient_id, drug_code=drug_code)
    override = None
    if conflicts:
        if not (allergy_override_reason or "").strip():
            names = ", ".join(f"{c.substance} ({c.severity})" for c in conflicts)
            raise ConflictError(
                f"the patient is allergic to {names}: give a reason to prescribe {drug.name} "
                "anyway",
                field="drug_code",
            )
        # Kept with the prescription: an overridden allergy warning must say why.
        override = clean_text(
            allergy_override_reason or "", field="allergy_override_reason", max_length=500
        )
    return common.add(
        session,
        Prescription(
            patient_id=patient_id,
            establishment_id=establishment_id,
            encounter_id=encounter_id,
            prescriber_id=prescriber_id,
            drug_code=drug.code,
            drug_name=drug.name,
            dose=amount,
            route=how,
            frequency=often,
            duration_days=duration_days,
            allergy_override_reason=override,
        ),
    )


def add_care_team_member(
    session: Session,
    *,
    patient_id: int,
    professional_id: int,
    establishment_id: int,
    role: str,
    start_date: date,
    end_date: date | None = None,
) -> CareTeamMember:
    active_patient(session, patient_id)
    _establishment(session, establishment_id)
    _clinician(session, professional_id, CLINICIANS, field="professional_id")
    try:
        team_role = CareTeamRole(role)
    except ValueError as exc:
        raise ValidationError(
            f"unknown role (one of {', '.join(r.value for r in CareTeamRole)})", field="role"
        ) from exc
    check_day(start_date, field="start_date")
    if end_date is not None:
        check_day(end_date, field="end_date")
    if end_date is not None and end_date < start_date:
        raise ValidationError("ends before it starts", field="end_date")
    return common.add(
        session,
        CareTeamMember(
            patient_id=patient_id,
            professional_id=professional_id,
            establishment_id=establishment_id,
            role=team_role,
            start_date=start_date,
            end_date=end_date,
        ),
    )


def _file(session: Session, patient_id: int, establishment_id: int) -> None:
    """The establishment exists and the patient has a file there."""
    _establishment(session, establishment_id)
    check_registered(session, patient_id=patient_id, establishment_id=establishment_id)


def _establishment(session: Session, establishment_id: int) -> Establishment:
    return common.get(
        session, Establishment, establishment_id, what="establishment", field="establishment_id"
    )


def _clinician(
    session: Session, professional_id: int, allowed: set[Profession], *, field: str
) -> Professional:
    prof = common.get(session, Professional, professional_id, what="professional", field=field)
    if prof.profession not in allowed:
        names = " or ".join(sorted(p.value for p in allowed))
        raise ValidationError(f"must be a {names}", field=field)
    return prof


def _check_encounter(session: Session, encounter_id: int | None, patient_id: int) -> None:
    if encounter_id is None:
        return
    encounter = common.get(session, Encounter, encounter_id, what="encounter", field="encounter_id")
    if encounter.patient_id != patient_id:
        raise ValidationError("belongs to another patient", field="encounter_id")


# --- changes to entries already recorded --------------------------------------------------
# Only what evolves is changed: an allergy's status, severity and reaction, a condition's
# status and onset, a prescription's end. What an entry *is* (substance, code, drug) is
# never rewritten: a wrong entry is marked entered-in-error and a new one recorded.
UNCHANGED: Any = object()  # an argument left out: the value stays
STOPPING = {PrescriptionStatus.STOPPED, PrescriptionStatus.COMPLETED}


def _clinical_status(value: str, *, field: str) -> ClinicalStatus:
    try:
        return ClinicalStatus(value)
    except ValueError as exc:
        allowed = ", ".join(s.value for s in ClinicalStatus)
        raise ValidationError(f"unknown status (one of {allowed})", field=field) from exc


def update_allergy(
    session: Session,
    *,
    allergy_id: int,
    changed_by_id: int,
    status: str | None = None,
    severity: str | None = None,
    reaction: str | None = None,
) -> list[str]:
    """Change an allergy's status, severity or reaction (None: unchanged). Everything is
    checked before anything changes; returns the names of the fields that changed."""
    allergy = common.get_for_update(session, Allergy, allergy_id, what="allergy", field="id")
    active_patient(session, allergy.patient_id)
    _clinician(session, changed_by_id, CLINICIANS, field="changed_by_id")
    new: dict[str, Any] = {}
    if status is not None:
        new["status"] = _clinical_status(status, field="status")
    if severity is not None:
        try:
            new["severity"] = AllergySeverity(severity)
        except ValueError as exc:
            raise ValidationError("must be mild, moderate or severe", field="severity") from exc
    if reaction is not None:
        new["reaction"] = clean_text(reaction, field="reaction", max_length=200)
    changed = [name for name, value in new.items() if getattr(allergy, name) != value]
    for name in changed:
        setattr(allergy, name, new[name])
    session.flush()
    return changed


def update_condition(
    session: Session,
    *,
    condition_id: int,
    changed_by_id: int,
    status: str | None = None,
    onset_date: date | None = UNCHANGED,
    today: date | None = None,
) -> list[str]:
    """Change a condition's status or onset date (``onset_date=None`` clears it; left out,
    it is unchanged). Returns the names of the fields that changed."""
    today = today or local_date(clock.now())
    condition = common.get_for_update(
        session, Condition, condition_id, what="condition", field="id"
    )
    patient = active_patient(session, condition.patient_id)
    _clinician(session, changed_by_id, {Profession.PHYSICIAN, Profession.MIDWIFE},
               field="changed_by_id")  # fmt: skip
    new: dict[str, Any] = {}
    if status is not None:
        new["status"] = _clinical_status(status, field="status")
    if onset_date is not UNCHANGED:
        if onset_date is not None:
            check_day(onset_date, field="onset_date")
            if not patient.birth_date <= onset_date <= today:
                raise ValidationError(
                    "must lie between the birth date and today", field="onset_date"
                )
        new["onset_date"] = onset_date
    changed = [name for name, value in new.items() if getattr(condition, name) != value]
    for name in changed:
        setattr(condition, name, new[name])
    session.flush()
    return changed


def end_prescription(
    session: Session, *, prescription_id: int, status: str, changed_by_id: int
) -> bool:
    """Stop or complete an active prescription. Asking for the status it already has
    changes nothing (returns False); any other change of an ended one is a conflict."""
    prescription = common.get_for_update(
        session, Prescription, prescription_id, what="prescription", field="id"
    )
    active_patient(session, prescription.patient_id)
    _clinician(session, changed_by_id, PRESCRIBERS, field="changed_by_id")
    try:
        wanted = PrescriptionStatus(status)
    except ValueError as exc:
        allowed = ", ".join(s.value for s in PrescriptionStatus)
        raise ValidationError(f"unknown status (one of {allowed})", field="status") from exc
    if wanted == prescription.status:
        return False
    if wanted not in STOPPING:
        raise ValidationError("a prescription is only stopped or completed", field="status")
    if prescription.status != PrescriptionStatus.ACTIVE:
        raise ConflictError(
            f"this prescription is already {prescription.status.value}", field="status"
        )
    prescription.status = wanted
    session.flush()
    return True


__all__: Sequence[str] = [
    "add_care_team_member",
    "add_condition",
    "allergy_conflicts",
    "end_prescription",
    "prescribe",
    "record_allergy",
    "update_allergy",
    "update_condition",
    "write_note",
]
