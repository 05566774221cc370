"""The clinical record: allergies, conditions, notes and prescriptions with allergy checks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from operator import attrgetter as at
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from hygie import reference
from hygie.clinical import service as clinical
from hygie.db import Database
from hygie.errors import ConflictError, HygieError, NotFoundError, ValidationError
from hygie.kit.crypto import Keyring
from hygie.models import (
    Allergy,
    AllergySeverity,
    ClinicalNote,
    ClinicalStatus,
    Condition,
    NoteKind,
    Prescription,
    PrescriptionStatus,
    Route,
)
from hygie.patients import service as patients
from hygie.staff import service as staff
from hygie.stays import service as stays
from tests.factories import World, build_world, rpps
from tests.refusals import assert_refused, call

NOW = datetime.now(UTC).replace(microsecond=0)
BORN = date(1970, 2, 1)
AMOXICILLIN, AMOX_CLAV, PARACETAMOL = "D0031", "D0034", "D0001"


@dataclass
class Scene:
    w: World
    patient: int  # allergic to penicillins (severe)
    other: int  # no allergy, with a visit
    visit: int  # other's encounter
    dead: int
    merged: int
    midwife: int
    pharmacist: int


Action = Callable[[Session, Scene], object]


def new_patient(s: Session, w: World, name: str) -> int:
    return patients.create_patient(
        s, establishment_id=w.est_a, birth_name=name, birth_first_names=["Sacha"], sex="male",
        birth_date=BORN,
    ).patient.id  # fmt: skip


def allergy(s: Session, c: Scene, substance: str, **overrides: Any) -> Allergy:
    fields: dict[str, Any] = dict(
        patient_id=c.patient, establishment_id=c.w.est_a, reaction="Urticaire",
        severity="severe", recorded_by_id=c.w.nurse,
    )  # fmt: skip
    return clinical.record_allergy(s, substance=substance, **{**fields, **overrides})


def prescribe(s: Session, c: Scene, **overrides: Any) -> Prescription:
    fields: dict[str, Any] = dict(
        patient_id=c.patient, establishment_id=c.w.est_a, prescriber_id=c.w.physician,
        drug_code=PARACETAMOL, dose="1 g", frequency="toutes les 6 h", duration_days=5,
    )  # fmt: skip
    return clinical.prescribe(s, **{**fields, **overrides})


@pytest.fixture
def scene(db: Database) -> Scene:
    with db.transaction() as s:
        w = build_world(s)
        patient, other, dead, merged, survivor = (
            new_patient(s, w, n) for n in ("Alpha", "Beta", "Gamma", "Delta", "Epsilon")
        )
        visit = stays.record_visit(
            s, patient_id=other, establishment_id=w.est_a, department_id=w.dept_a,
            responsible_id=w.physician, at=NOW - timedelta(hours=1), duration_min=20, reason="RAS",
        ).id  # fmt: skip
        patients.declare_death(
            s, patient_id=dead, died_at=NOW - timedelta(days=1), place="Domicile",
            declared_by_id=w.physician,
        )  # fmt: skip
        patients.merge_identities(s, survivor_id=survivor, merged_id=merged, reason="Doublon")
        midwife, pharmacist = (
            staff.create_professional(
                s, profession=p, family_name="Pro", given_name="Dom", rpps=rpps(80 + i)
            ).id
            for i, p in enumerate(("midwife", "pharmacist"))
        )
        c = Scene(w, patient, other, visit, dead, merged, midwife, pharmacist)
        allergy(s, c, "Pénicilline")
    return c


def test_record_allergy_condition_and_note(db: Database, scene: Scene, keyring: Keyring) -> None:
    w = scene.w
    with db.transaction() as s:
        coded = allergy(s, scene, " Amoxicilline ", drug_code=AMOXICILLIN, severity="moderate")
        condition = clinical.add_condition(
            s, patient_id=scene.other, establishment_id=w.est_a, code=" e11.9 ",
            recorded_by_id=scene.midwife, onset_date=date(2015, 6, 1),
        )  # fmt: skip
        note = clinical.write_note(
            s, patient_id=scene.other, establishment_id=w.est_a, author_id=scene.pharmacist,
            kind="progress", text="  Patient vu.\nTension 13/8.  ", encounter_id=scene.visit,
        )  # fmt: skip
    with db.engine.connect() as conn:
        [raw] = conn.execute(text("select text from clinical_notes")).scalars()
    assert "Tension" not in raw and raw.startswith(f"{keyring.active_id}:")
    with db.transaction() as s:
        stored = s.get(Allergy, coded.id)
        assert stored is not None
        assert (stored.substance, stored.drug_code, stored.severity, stored.status) == (
            "Amoxicilline", AMOXICILLIN, AllergySeverity.MODERATE, ClinicalStatus.ACTIVE,
        )  # fmt: skip
        cond = s.get(Condition, condition.id)
        assert cond is not None
        assert (cond.code, cond.label, cond.onset_date, cond.status) == (
            "E11.9", reference.cim10_codes()["E11.9"].label, date(2015, 6, 1),
            ClinicalStatus.ACTIVE,
        )  # fmt: skip
        stored_note = s.get(ClinicalNote, note.id)
        assert stored_note is not None
        assert (stored_note.text, stored_note.kind, stored_note.encounter_id) == (
            "Patient vu.\nTension 13/8.", NoteKind.PROGRESS, scene.visit,
        )  # fmt: skip


@pytest.mark.parametrize("who", ["physician", "midwife"])
def test_prescribe_copies_the_drug_and_defaults_its_route(
    db: Database, scene: Scene, who: str
) -> None:
    prescriber = scene.w.physician if who == "physician" else scene.midwife
    with db.transaction() as s:
        oral = prescribe(s, scene, patient_id=scene.other, prescriber_id=prescriber)
        rectal = prescribe(
            s, scene, patient_id=scene.other, prescriber_id=prescriber, route="rectal",
            encounter_id=scene.visit, duration_days=365,
        )  # fmt: skip
    with db.transaction() as s:
        stored = s.get(Prescription, oral.id)
        assert stored is not None
        drug = reference.drugs()[PARACETAMOL]
        assert (stored.drug_code, stored.drug_name, stored.route, stored.status) == (
            drug.code, drug.name, Route.ORAL, PrescriptionStatus.ACTIVE,
        )  # fmt: skip
        assert (stored.dose, stored.frequency, stored.duration_days) == ("1 g", "toutes les 6 h", 5)
        assert s.get(Prescription, rectal.id).route == Route.RECTAL  # type: ignore[union-attr]


def test_an_allergy_conflict_needs_an_override_reason(db: Database, scene: Scene) -> None:
    assert_refused(
        db, lambda s: prescribe(s, scene, drug_code=AMOXICILLIN, allergy_override_reason="  "),
        ConflictError, "drug_code", r"allergic to Pénicilline \(severe\).*amoxicilline anyway",
    )  # fmt: skip
    with db.transaction() as s:
        done = prescribe(
            s, scene, drug_code=AMOXICILLIN, allergy_override_reason="Test de provocation encadré"
        )
    assert done.drug_code == AMOXICILLIN


# fmt: off
ALLERGY_CASES = [
    ("Pénicilline", None, AMOXICILLIN, True),
    ("pénicillines", None, "D0037", True),
    ("Céphalosporines", None, "D0045", True),
    ("sulfamides", None, "D0058", True),
    ("AINS", None, "D0019", True),
    ("Macrolides", None, "D0049", True),
    ("opiacés", None, "D0010", True),
    ("fluoroquinolone", None, "D0055", True),
    ("amoxicilline", None, AMOX_CLAV, True),
    ("Clamoxyl", AMOXICILLIN, "D0032", True),
    ("Pénicilline", None, PARACETAMOL, False),
    ("Latex", None, AMOXICILLIN, False),
    ("AINS", None, AMOXICILLIN, False),
    pytest.param("quinolones", None, "D0055", True),
    pytest.param("fluoroquinolones", None, "D0056", True),
    pytest.param("bêta-lactamines", None, AMOXICILLIN, True),
    pytest.param("bétalactamine", None, "D0045", True),
    pytest.param("Clamoxyl", AMOXICILLIN, AMOX_CLAV, True),
    pytest.param("acide acétylsalicylique", None, "D0216", False),
    pytest.param("valproate de sodium", None, "D0232", False),
]
# fmt: on


@pytest.mark.parametrize(("substance", "allergen_code", "drug_code", "conflict"), ALLERGY_CASES)
def test_allergy_conflicts(
    db: Database,
    scene: Scene,
    substance: str,
    allergen_code: str | None,
    drug_code: str,
    conflict: bool,
) -> None:
    with db.transaction() as s:
        recorded = clinical.record_allergy(
            s, patient_id=scene.other, establishment_id=scene.w.est_a, substance=substance,
            reaction="Oedème", severity="moderate", recorded_by_id=scene.w.physician,
            drug_code=allergen_code,
        )  # fmt: skip
        found = clinical.allergy_conflicts(s, patient_id=scene.other, drug_code=drug_code)
    expected = [clinical.AllergyConflict(recorded.id, substance, "moderate")] if conflict else []
    assert found == expected


allergy_of = call(
    clinical.record_allergy, patient_id=at("patient"), establishment_id=at("w.est_a"),
    substance="Latex", reaction="Urticaire", severity="mild", recorded_by_id=at("w.nurse"),
)  # fmt: skip
condition = call(
    clinical.add_condition, patient_id=at("patient"), establishment_id=at("w.est_a"), code="I10",
    recorded_by_id=at("w.physician"),
)  # fmt: skip
note = call(
    clinical.write_note, patient_id=at("patient"), establishment_id=at("w.est_a"),
    author_id=at("w.nurse"), kind="nursing", text="Pansement refait.",
)  # fmt: skip
rx = call(
    clinical.prescribe, patient_id=at("patient"), establishment_id=at("w.est_a"),
    prescriber_id=at("w.physician"), drug_code=PARACETAMOL, dose="1 g",
    frequency="toutes les 6 h", duration_days=5,
)  # fmt: skip
team = call(
    clinical.add_care_team_member, patient_id=at("patient"), professional_id=at("w.nurse"),
    establishment_id=at("w.est_a"), role="nurse", start_date=NOW.date(),
)  # fmt: skip
conflicts = call(clinical.allergy_conflicts, patient_id=at("patient"))


CLINICIANS = "must be a midwife or nurse or pharmacist or physician"
PRESCRIBERS = "must be a midwife or physician"

# fmt: off
BAD_INPUTS = [
    pytest.param(allergy_of(patient_id=999), NotFoundError, "patient_id", "patient #999", id="allergy-unknown-patient"),
    pytest.param(allergy_of(patient_id=at("merged")), ConflictError, "patient_id", "was merged into", id="allergy-merged-patient"),
    pytest.param(allergy_of(establishment_id=999), NotFoundError, "establishment_id", "#999", id="allergy-unknown-establishment"),
    pytest.param(allergy_of(recorded_by_id=at("w.secretary")), ValidationError, "recorded_by_id", CLINICIANS, id="allergy-by-secretary"),
    pytest.param(allergy_of(recorded_by_id=999), NotFoundError, "recorded_by_id", "#999", id="allergy-unknown-recorder"),
    pytest.param(allergy_of(substance=" "), ValidationError, "substance", "required", id="allergy-no-substance"),
    pytest.param(allergy_of(drug_code="X999"), ValidationError, "drug_code", "unknown drug code", id="allergy-unknown-drug"),
    pytest.param(allergy_of(severity="fatal"), ValidationError, "severity", "mild, moderate or severe", id="allergy-bad-severity"),
    pytest.param(allergy_of(reaction=""), ValidationError, "reaction", "required", id="allergy-no-reaction"),
    pytest.param(condition(code="Z99.99"), ValidationError, "code", "not a CIM-10 code", id="condition-unknown-code"),
    pytest.param(condition(code=""), ValidationError, "code", "not a CIM-10 code", id="condition-empty-code"),
    pytest.param(condition(recorded_by_id=at("w.nurse")), ValidationError, "recorded_by_id", PRESCRIBERS, id="condition-by-nurse"),
    pytest.param(condition(onset_date=BORN - timedelta(days=1)), ValidationError, "onset_date", "between the birth date and today", id="condition-before-birth"),
    pytest.param(condition(onset_date=NOW.date() + timedelta(days=2)), ValidationError, "onset_date", "between the birth date and today", id="condition-in-future"),
    pytest.param(condition(patient_id=999), NotFoundError, "patient_id", "#999", id="condition-unknown-patient"),
    pytest.param(note(kind="letter"), ValidationError, "kind", "unknown note type", id="note-bad-kind"),
    pytest.param(note(text="  \n "), ValidationError, "text", "required", id="note-empty"),
    pytest.param(note(text="x" * 20_001), ValidationError, "text", "longer than 20000", id="note-too-long"),
    pytest.param(note(text="a\x00b"), ValidationError, "text", "control", id="note-control-char"),
    pytest.param(note(author_id=at("w.secretary")), ValidationError, "author_id", CLINICIANS, id="note-by-secretary"),
    pytest.param(note(encounter_id=at("visit")), ValidationError, "encounter_id", "another patient", id="note-other-patients-encounter"),
    pytest.param(note(encounter_id=999), NotFoundError, "encounter_id", "encounter #999", id="note-unknown-encounter"),
    pytest.param(rx(drug_code="D9999"), ValidationError, "drug_code", "unknown drug code", id="rx-unknown-drug"),
    pytest.param(rx(prescriber_id=at("w.nurse")), ValidationError, "prescriber_id", PRESCRIBERS, id="rx-by-nurse"),
    pytest.param(rx(prescriber_id=at("pharmacist")), ValidationError, "prescriber_id", PRESCRIBERS, id="rx-by-pharmacist"),
    pytest.param(rx(prescriber_id=999), NotFoundError, "prescriber_id", "#999", id="rx-unknown-prescriber"),
    pytest.param(rx(route="mouth"), ValidationError, "route", "unknown route", id="rx-bad-route"),
    pytest.param(rx(duration_days=0), ValidationError, "duration_days", "between 1 and 365", id="rx-zero-days"),
    pytest.param(rx(duration_days=366), ValidationError, "duration_days", "between 1 and 365", id="rx-too-long"),
    pytest.param(rx(dose=""), ValidationError, "dose", "required", id="rx-no-dose"),
    pytest.param(rx(frequency=" "), ValidationError, "frequency", "required", id="rx-no-frequency"),
    pytest.param(rx(patient_id=at("dead")), ConflictError, "patient_id", "deceased", id="rx-deceased-patient"),
    pytest.param(rx(encounter_id=at("visit")), ValidationError, "encounter_id", "another patient", id="rx-other-patients-encounter"),
    pytest.param(rx(drug_code=AMOX_CLAV), ConflictError, "drug_code", "allergic to Pénicilline", id="rx-allergy-without-override"),
    pytest.param(team(professional_id=999), NotFoundError, "professional_id", "#999", id="team-unknown-professional"),
    pytest.param(team(role="boss"), ValidationError, "role", "unknown role", id="team-bad-role"),
    pytest.param(team(end_date=NOW.date() - timedelta(days=1)), ValidationError, "end_date", "ends before", id="team-reversed"),
    pytest.param(team(patient_id=999), NotFoundError, "patient_id", "#999", id="team-unknown-patient"),
    pytest.param(conflicts(drug_code="NOPE"), ValidationError, "drug_code", "unknown drug", id="conflicts-unknown-drug"),
]
# fmt: on


@pytest.mark.parametrize(("action", "error", "field", "match"), BAD_INPUTS)
def test_bad_input_is_refused_and_changes_nothing(
    db: Database,
    scene: Scene,
    action: Action,
    error: type[HygieError],
    field: str | None,
    match: str,
) -> None:
    assert_refused(db, lambda s: action(s, scene), error, field, match)
