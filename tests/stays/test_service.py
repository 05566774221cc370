"""Hospital stays (admission, transfers, discharge) and outpatient visits."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from operator import attrgetter as at
from typing import Any

import pytest
from sqlalchemy.orm import Session

from hygie.db import Database
from hygie.errors import ConflictError, HygieError, NotFoundError, ValidationError
from hygie.models import Encounter, EncounterKind, EncounterStatus
from hygie.patients import service as patients
from hygie.staff import service as staff
from hygie.stays import service as stays
from hygie.storage import care as care_store
from tests.factories import World, build_world, rpps
from tests.refusals import assert_refused, call

NOW = datetime.now(UTC).replace(microsecond=0)
ADMITTED = NOW - timedelta(days=3)


@dataclass
class Scene:
    w: World
    patient: int  # not in hospital
    inpatient: int  # admitted at ADMITTED in dept_a, bed 12
    stay: int
    finished: int  # a discharged stay of another patient
    visit: int  # an outpatient visit
    dead: int


Action = Callable[[Session, Scene], object]


def new_patient(s: Session, w: World, name: str) -> int:
    return patients.create_patient(
        s, establishment_id=w.est_a, birth_name=name, birth_first_names=["Camille"],
        sex="female", birth_date=date(1985, 6, 1),
    ).patient.id  # fmt: skip


def admit(s: Session, w: World, **overrides: Any) -> Encounter:
    fields: dict[str, Any] = dict(
        establishment_id=w.est_a, department_id=w.dept_a, responsible_id=w.physician,
        at=ADMITTED, reason="Pneumopathie",
    )  # fmt: skip
    return stays.admit(s, **{**fields, **overrides})


@pytest.fixture
def scene(db: Database) -> Scene:
    with db.transaction() as s:
        w = build_world(s)
        patient, inpatient, other, dead = (
            new_patient(s, w, n) for n in ("Alpha", "Beta", "Gamma", "Delta")
        )
        stay = admit(s, w, patient_id=inpatient, bed="12").id
        finished = admit(s, w, patient_id=other, at=NOW - timedelta(days=10)).id
        stays.discharge(s, encounter_id=finished, at=NOW - timedelta(days=5))
        visit = stays.record_visit(
            s, patient_id=other, establishment_id=w.est_a, department_id=w.dept_a,
            responsible_id=w.physician, at=NOW - timedelta(hours=1), duration_min=20,
            reason="Contrôle",
        ).id  # fmt: skip
        patients.declare_death(
            s, patient_id=dead, died_at=NOW - timedelta(days=1), place="Domicile",
            declared_by_id=w.physician,
        )  # fmt: skip
    return Scene(w, patient, inpatient, stay, finished, visit, dead)


def moves(s: Session, encounter_id: int) -> list[tuple[Any, ...]]:
    return [
        (m.department_id, m.bed, m.start_at, m.end_at)
        for m in care_store.movements(s, encounter_id)
    ]


def test_admit_transfer_and_discharge_record_movements(db: Database, scene: Scene) -> None:
    w = scene.w
    t1, t2, out = ADMITTED + timedelta(days=1), ADMITTED + timedelta(days=2), NOW
    with db.transaction() as s:
        stays.transfer(s, encounter_id=scene.stay, department_id=w.dept_a2, at=t1, bed=" 3 ")
        stays.transfer(s, encounter_id=scene.stay, department_id=w.dept_a2, at=t2, bed="4")
        stays.discharge(s, encounter_id=scene.stay, at=out, destination="nursing_home")
    with db.transaction() as s:
        stay = s.get(Encounter, scene.stay)
        assert stay is not None
        assert (stay.kind, stay.status, stay.department_id) == (
            EncounterKind.INPATIENT, EncounterStatus.FINISHED, w.dept_a2,
        )  # fmt: skip
        assert (stay.start_at, stay.end_at, stay.discharge_destination) == (
            ADMITTED, out, "nursing_home",
        )  # fmt: skip
        assert (stay.responsible_id, stay.reason) == (w.physician, "Pneumopathie")
        assert moves(s, scene.stay) == [
            (w.dept_a, "12", ADMITTED, t1),
            (w.dept_a2, "3", t1, t2),
            (w.dept_a2, "4", t2, out),
        ]
        assert care_store.open_stay(s, scene.inpatient) is None


def test_a_freed_bed_and_a_discharged_patient_can_be_admitted_again(
    db: Database, scene: Scene
) -> None:
    w = scene.w
    with db.transaction() as s:
        stays.transfer(s, encounter_id=scene.stay, department_id=w.dept_a, at=NOW, bed="13")
        admit(s, w, patient_id=scene.patient, bed="12", at=NOW)  # bed 12 was left
        stays.discharge(s, encounter_id=scene.stay, at=NOW)
        again = admit(s, w, patient_id=scene.inpatient, bed="13", at=NOW)  # its own old bed
        midwife = staff.create_professional(
            s, profession="midwife", family_name="Sage", given_name="Anne", rpps=rpps(70)
        )
        elsewhere = admit(
            s, w, patient_id=new_patient(s, w, "Epsilon"), establishment_id=w.est_b,
            department_id=w.dept_b, bed="12", responsible_id=midwife.id,
        )  # fmt: skip
    with db.transaction() as s:
        assert care_store.open_stay(s, scene.inpatient).id == again.id  # type: ignore[union-attr]
        ward = care_store.ward(s, w.dept_a)
        assert sorted((m.bed, e.patient_id) for m, e in ward) == [
            ("12", scene.patient), ("13", scene.inpatient),
        ]  # fmt: skip
        assert moves(s, elsewhere.id)[0][:2] == (w.dept_b, "12")


def test_record_a_visit(db: Database, scene: Scene) -> None:
    with db.transaction() as s:
        visit = s.get(Encounter, scene.visit)
        assert visit is not None
        assert (visit.kind, visit.status, visit.reason) == (
            EncounterKind.OUTPATIENT, EncounterStatus.FINISHED, "Contrôle",
        )  # fmt: skip
        assert visit.end_at == visit.start_at + timedelta(minutes=20)
        assert care_store.movements(s, scene.visit) == []


def test_a_stay_cannot_start_before_the_patient_was_born(db: Database, scene: Scene) -> None:
    assert_refused(
        db, lambda s: admit(s, scene.w, patient_id=scene.patient, at=datetime(1970, 1, 1, tzinfo=UTC)),
        ValidationError, "at", "birth",
    )  # fmt: skip


admission = call(
    stays.admit, patient_id=at("patient"), establishment_id=at("w.est_a"),
    department_id=at("w.dept_a"), responsible_id=at("w.physician"), at=ADMITTED,
    reason="Pneumopathie",
)  # fmt: skip
transfer = call(stays.transfer, encounter_id=at("stay"), department_id=at("w.dept_a2"), at=NOW)
discharge = call(stays.discharge, encounter_id=at("stay"), at=NOW)
visit = call(
    stays.record_visit, patient_id=at("patient"), establishment_id=at("w.est_a"),
    department_id=at("w.dept_a"), responsible_id=at("w.physician"), at=NOW, duration_min=15,
    reason="Contrôle",
)  # fmt: skip


def transfer_into_an_occupied_bed(s: Session, c: Scene) -> object:
    admit(
        s,
        c.w,
        patient_id=c.patient,
        department_id=c.w.dept_a2,
        bed="7",
        at=NOW - timedelta(hours=1),
    )
    return stays.transfer(s, encounter_id=c.stay, department_id=c.w.dept_a2, bed="7", at=NOW)


def discharge_before_the_last_transfer(s: Session, c: Scene) -> object:
    stays.transfer(s, encounter_id=c.stay, department_id=c.w.dept_a2, at=NOW - timedelta(hours=1))
    return stays.discharge(s, encounter_id=c.stay, at=NOW - timedelta(hours=2))


# fmt: off
BAD_INPUTS = [
    pytest.param(admission(patient_id=999), NotFoundError, "patient_id", "patient #999", id="admit-unknown-patient"),
    pytest.param(admission(patient_id=at("dead")), ConflictError, "patient_id", "deceased", id="admit-deceased"),
    pytest.param(admission(patient_id=at("inpatient")), ConflictError, "patient_id", "already has a stay in progress", id="admit-second-open-stay"),
    pytest.param(admission(establishment_id=999), NotFoundError, "establishment_id", "#999", id="admit-unknown-establishment"),
    pytest.param(admission(department_id=999), NotFoundError, "department_id", "department #999", id="admit-unknown-department"),
    pytest.param(admission(department_id=at("w.dept_b")), ValidationError, "department_id", "another establishment", id="admit-department-elsewhere"),
    pytest.param(admission(responsible_id=999), NotFoundError, "responsible_id", "#999", id="admit-unknown-responsible"),
    pytest.param(admission(responsible_id=at("w.nurse")), ValidationError, "responsible_id", "physician or a midwife", id="admit-nurse-responsible"),
    pytest.param(admission(responsible_id=at("w.secretary")), ValidationError, "responsible_id", "physician or a midwife", id="admit-secretary-responsible"),
    pytest.param(admission(at=NOW + timedelta(days=2)), ValidationError, "at", "in the future", id="admit-future"),
    pytest.param(admission(at=NOW.replace(tzinfo=None)), ValidationError, "at", "time zone", id="admit-naive"),
    pytest.param(admission(reason=""), ValidationError, "reason", "required", id="admit-no-reason"),
    pytest.param(admission(bed="12"), ConflictError, "bed", "bed 12 is occupied", id="admit-bed-occupied"),
    pytest.param(admission(bed=" 12 "), ConflictError, "bed", "bed 12 is occupied", id="admit-bed-occupied-spaces"),
    pytest.param(admission(bed="x" * 21), ValidationError, "bed", "longer than 20", id="admit-bed-label-too-long"),
    pytest.param(transfer(encounter_id=999), NotFoundError, "encounter_id", "stay #999", id="transfer-unknown-stay"),
    pytest.param(transfer(encounter_id=at("finished")), ConflictError, "encounter_id", "not a stay in progress", id="transfer-finished-stay"),
    pytest.param(transfer(encounter_id=at("visit")), ConflictError, "encounter_id", "not a stay in progress", id="transfer-a-visit"),
    pytest.param(transfer(department_id=at("w.dept_b")), ValidationError, "department_id", "another establishment", id="transfer-elsewhere"),
    pytest.param(transfer(department_id=999), NotFoundError, "department_id", "#999", id="transfer-unknown-department"),
    pytest.param(transfer(at=ADMITTED - timedelta(minutes=1)), ValidationError, "at", "before the patient entered", id="transfer-before-admission"),
    pytest.param(transfer(at=NOW + timedelta(days=2)), ValidationError, "at", "in the future", id="transfer-future"),
    pytest.param(transfer(department_id=at("w.dept_a"), bed="12"), ConflictError, "department_id", "already in that unit and bed", id="transfer-same-bed"),
    pytest.param(transfer_into_an_occupied_bed, ConflictError, "bed", "bed 7 is occupied", id="transfer-into-occupied-bed"),
    pytest.param(discharge(at=ADMITTED - timedelta(seconds=1)), ValidationError, "at", "before the admission", id="discharge-before-admission"),
    pytest.param(discharge_before_the_last_transfer, ValidationError, "at", "last transfer", id="discharge-before-last-transfer"),
    pytest.param(discharge(at=NOW + timedelta(days=2)), ValidationError, "at", "in the future", id="discharge-future"),
    pytest.param(discharge(destination="moon"), ValidationError, "destination", "unknown destination", id="discharge-unknown-destination"),
    pytest.param(discharge(encounter_id=at("finished")), ConflictError, "encounter_id", "not a stay in progress", id="discharge-twice"),
    pytest.param(discharge(encounter_id=at("visit")), ConflictError, "encounter_id", "not a stay in progress", id="discharge-a-visit"),
    pytest.param(discharge(encounter_id=999), NotFoundError, "encounter_id", "#999", id="discharge-unknown"),
    pytest.param(visit(duration_min=4), ValidationError, "duration_min", "between 5 and 480", id="visit-too-short"),
    pytest.param(visit(duration_min=481), ValidationError, "duration_min", "between 5 and 480", id="visit-too-long"),
    pytest.param(visit(at=NOW + timedelta(days=2)), ValidationError, "at", "in the future", id="visit-future"),
    pytest.param(visit(responsible_id=at("w.nurse")), ValidationError, "responsible_id", "physician or a midwife", id="visit-nurse"),
    pytest.param(visit(department_id=at("w.dept_b")), ValidationError, "department_id", "another establishment", id="visit-department-elsewhere"),
    pytest.param(visit(patient_id=999), NotFoundError, "patient_id", "#999", id="visit-unknown-patient"),
    pytest.param(visit(reason=" "), ValidationError, "reason", "required", id="visit-no-reason"),
    pytest.param(visit(patient_id=at("dead")), ValidationError, "at", "after the patient's death", id="visit-after-death"),
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


def test_a_back_dated_admission_cannot_overlap_a_finished_stay(db: Database, scene: Scene) -> None:
    with db.transaction() as s:
        other = s.get(Encounter, scene.finished).patient_id  # type: ignore[union-attr]
    assert_refused(
        db, lambda s: admit(s, scene.w, patient_id=other, at=NOW - timedelta(days=7)),
        ConflictError, "at", "overlaps",
    )  # fmt: skip
