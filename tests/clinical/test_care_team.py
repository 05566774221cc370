"""The care team: attending physician, appointments, stays and explicit members, each with
the time window that keeps a care relationship from opening a record forever."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest

from hygie.clinical import care_team as ct
from hygie.clinical import service as clinical
from hygie.db import Database
from hygie.errors import ConfigurationError
from hygie.patients import service as patients
from hygie.scheduling import service as scheduling
from hygie.stays import service as stays
from tests.factories import World, build_world

NOW = datetime.now(UTC).replace(microsecond=0)
SLOT = (NOW + timedelta(days=7)).replace(hour=10, minute=0, second=0)
ADMITTED = NOW - timedelta(days=4)
DISCHARGED = NOW - timedelta(days=1)


@dataclass
class Scene:
    w: World
    patient: int
    appointment: int


def new_patient(db: Database, w: World, name: str, attending: int | None = None) -> int:
    with db.transaction() as s:
        return patients.create_patient(
            s, establishment_id=w.est_a, birth_name=name, birth_first_names=["Noa"],
            sex="female", birth_date=date(1960, 1, 1), attending_physician_id=attending,
        ).patient.id  # fmt: skip


@pytest.fixture
def scene(db: Database) -> Scene:
    with db.transaction() as s:
        w = build_world(s)
    patient = new_patient(db, w, "Alpha", attending=w.gp)
    with db.transaction() as s:
        appointment = scheduling.book_appointment(
            s, patient_id=patient, practitioner_id=w.physician, establishment_id=w.est_a,
            start_at=SLOT, duration_min=20, reason="Consultation",
        ).id  # fmt: skip
    return Scene(w, patient, appointment)


def team_at(db: Database, patient_id: int, at: datetime) -> set[tuple[int, int | None, str, str]]:
    with db.transaction() as s:
        return {
            (e.professional_id, e.establishment_id, e.source, e.role)
            for e in ct.care_team(s, patient_id=patient_id, at=at)
        }


def test_attending_physician_and_appointment(db: Database, scene: Scene) -> None:
    w = scene.w
    assert team_at(db, scene.patient, NOW) == {
        (w.gp, None, "attending", "attending_physician"),
        (w.physician, w.est_a, "appointment", "consultant"),
    }
    with db.transaction() as s:
        assert ct.in_care_team(s, patient_id=scene.patient, professional_id=w.gp, at=NOW)
        assert not ct.in_care_team(s, patient_id=scene.patient, professional_id=w.nurse, at=NOW)
        assert not ct.in_care_team(
            s, patient_id=scene.patient, professional_id=w.physician_b, at=NOW
        )


@pytest.mark.parametrize(
    ("at", "included"),
    [
        (SLOT - ct.APPOINTMENT_AHEAD, False),
        (SLOT - ct.APPOINTMENT_AHEAD + timedelta(seconds=1), True),
        (SLOT, True),
        (SLOT + ct.APPOINTMENT_PAST, True),
        (SLOT + ct.APPOINTMENT_PAST + timedelta(seconds=1), False),
    ],
    ids=["91-days-ahead", "just-under-90-days-ahead", "on-the-day", "180-days-after", "too-late"],
)
def test_appointment_window(db: Database, scene: Scene, at: datetime, included: bool) -> None:
    entry = (scene.w.physician, scene.w.est_a, "appointment", "consultant")
    assert (entry in team_at(db, scene.patient, at)) is included


def test_cancelled_appointments_do_not_count_but_no_shows_do(db: Database, scene: Scene) -> None:
    w = scene.w
    with db.transaction() as s:
        scheduling.cancel_appointment(s, appointment_id=scene.appointment, reason="Annulé")
        no_show = scheduling.book_appointment(
            s, patient_id=scene.patient, practitioner_id=w.nurse, establishment_id=w.est_a,
            start_at=SLOT + timedelta(days=1), duration_min=20, reason="Soins",
        )  # fmt: skip
        scheduling.set_appointment_status(
            s,
            appointment_id=no_show.id,
            status="no_show",
            now=no_show.start_at + timedelta(hours=1),
        )
    assert team_at(db, scene.patient, NOW) == {
        (w.gp, None, "attending", "attending_physician"),
        (w.nurse, w.est_a, "appointment", "consultant"),
    }


def test_stay_responsible_until_30_days_after_discharge(db: Database, scene: Scene) -> None:
    w = scene.w
    patient = new_patient(db, w, "Beta")
    with db.transaction() as s:
        stay = stays.admit(
            s, patient_id=patient, establishment_id=w.est_b, department_id=w.dept_b,
            responsible_id=w.physician_b, at=ADMITTED, reason="Chirurgie",
        )  # fmt: skip
    entry = (w.physician_b, w.est_b, "stay", "referent")
    assert team_at(db, patient, NOW) == {entry}
    with db.transaction() as s:
        stays.discharge(s, encounter_id=stay.id, at=DISCHARGED)
    assert team_at(db, patient, DISCHARGED + ct.STAY_AFTER_DISCHARGE) == {entry}
    assert (
        team_at(db, patient, DISCHARGED + ct.STAY_AFTER_DISCHARGE + timedelta(seconds=1)) == set()
    )


def test_explicit_members_for_their_period(db: Database, scene: Scene) -> None:
    w = scene.w
    patient = new_patient(db, w, "Gamma")
    today = NOW.date()
    with db.transaction() as s:
        clinical.add_care_team_member(
            s, patient_id=patient, professional_id=w.nurse, establishment_id=w.est_a,
            role="nurse", start_date=today, end_date=today + timedelta(days=10),
        )  # fmt: skip
        clinical.add_care_team_member(
            s, patient_id=patient, professional_id=w.physician_b, establishment_id=w.est_b,
            role="consultant", start_date=today + timedelta(days=5),
        )  # fmt: skip
    nurse = (w.nurse, w.est_a, "explicit", "nurse")
    consultant = (w.physician_b, w.est_b, "explicit", "consultant")
    assert team_at(db, patient, NOW - timedelta(days=1)) == set()
    assert team_at(db, patient, NOW) == {nurse}
    assert team_at(db, patient, NOW + timedelta(days=10)) == {nurse, consultant}
    assert team_at(db, patient, NOW + timedelta(days=11)) == {consultant}


def test_one_entry_per_professional_source_and_establishment_sorted(
    db: Database, scene: Scene
) -> None:
    w = scene.w
    with db.transaction() as s:
        for days in (1, 2):
            scheduling.book_appointment(
                s, patient_id=scene.patient, practitioner_id=w.physician, establishment_id=w.est_a,
                start_at=SLOT + timedelta(days=days), duration_min=20, reason="Suivi",
            )  # fmt: skip
        clinical.add_care_team_member(
            s, patient_id=scene.patient, professional_id=w.physician, establishment_id=w.est_a,
            role="referent", start_date=NOW.date(),
        )  # fmt: skip
        team = ct.care_team(s, patient_id=scene.patient, at=NOW)
    assert [(e.professional_id, e.source) for e in team] == sorted(
        [(w.physician, "appointment"), (w.physician, "explicit"), (w.gp, "attending")]
    )


def test_a_merge_brings_the_merged_identitys_team(db: Database, scene: Scene) -> None:
    w = scene.w
    duplicate = new_patient(db, w, "Delta")
    with db.transaction() as s:
        stays.admit(
            s, patient_id=duplicate, establishment_id=w.est_b, department_id=w.dept_b,
            responsible_id=w.physician_b, at=ADMITTED, reason="Bilan",
        )  # fmt: skip
        patients.merge_identities(
            s, survivor_id=scene.patient, merged_id=duplicate, reason="Doublon"
        )
    assert (w.physician_b, w.est_b, "stay", "referent") in team_at(db, scene.patient, NOW)
    assert team_at(db, duplicate, NOW) == set()


def test_a_stay_does_not_count_before_the_admission(db: Database, scene: Scene) -> None:
    w = scene.w
    patient = new_patient(db, w, "Epsilon")
    with db.transaction() as s:
        stays.admit(
            s, patient_id=patient, establishment_id=w.est_b, department_id=w.dept_b,
            responsible_id=w.physician_b, at=ADMITTED, reason="Chirurgie",
        )  # fmt: skip
    assert team_at(db, patient, ADMITTED - timedelta(days=1)) == set()


def test_windows_are_configurable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HYGIE_CARE_DAYS_BEFORE", "30")
    monkeypatch.setenv("HYGIE_CARE_DAYS_AHEAD", "")
    windows = ct.CareWindows.from_env()
    assert windows.appointment_past == timedelta(days=30)
    assert windows.appointment_ahead == ct.APPOINTMENT_AHEAD
    monkeypatch.setenv("HYGIE_CARE_DAYS_AFTER_DISCHARGE", "-3")
    with pytest.raises(ConfigurationError, match="HYGIE_CARE_DAYS_AFTER_DISCHARGE"):
        ct.CareWindows.from_env()


def test_a_shorter_window_ends_the_relationship_sooner(db: Database, scene: Scene) -> None:
    late = SLOT + timedelta(days=40)
    with db.sessions() as s:
        default = ct.care_team(s, patient_id=scene.patient, at=late)
        short = ct.care_team(
            s,
            patient_id=scene.patient,
            at=late,
            windows=ct.CareWindows(appointment_past=timedelta(days=30)),
        )
    assert any(e.source == "appointment" for e in default)
    assert not any(e.source == "appointment" for e in short)
