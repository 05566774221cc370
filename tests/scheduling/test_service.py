"""Appointments: booking, moves, cancellation, status changes, conflicts and their history."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from operator import attrgetter as at
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from hygie.db import Database
from hygie.errors import ConflictError, HygieError, NotFoundError, ValidationError
from hygie.models import Appointment, AppointmentStatus, IdentityEvent
from hygie.patients import service as patients
from hygie.scheduling import service as scheduling
from hygie.staff import service as staff
from hygie.storage import care as care_store
from tests.factories import World, build_world, rpps
from tests.refusals import assert_refused, call

NOW = datetime.now(UTC).replace(microsecond=0)
SLOT = (NOW + timedelta(days=7)).replace(hour=9, minute=0, second=0)  # a future morning


@dataclass
class Scene:
    w: World
    patient: int
    other: int  # a second patient
    dead: int
    merged: int
    booked: int  # patient with the physician at SLOT, 30 min
    cancelled: int  # other with the physician at SLOT + 2 h, cancelled
    temp: int  # a physician habilitated in A until SLOT's eve


Action = Callable[[Session, Scene], object]


def new_patient(s: Session, w: World, name: str) -> int:
    return patients.create_patient(
        s, establishment_id=w.est_a, birth_name=name, birth_first_names=["Alex"], sex="unknown",
        birth_date=date(1990, 1, 1),
    ).patient.id  # fmt: skip


def book(s: Session, w: World, **overrides: Any) -> Appointment:
    fields: dict[str, Any] = dict(
        practitioner_id=w.physician, establishment_id=w.est_a, start_at=SLOT, duration_min=30,
        reason="Consultation",
    )  # fmt: skip
    return scheduling.book_appointment(s, **{**fields, **overrides})


@pytest.fixture
def scene(db: Database) -> Scene:
    with db.transaction() as s:
        w = build_world(s)
        patient, other, dead, merged, survivor = (
            new_patient(s, w, n) for n in ("Alpha", "Beta", "Gamma", "Delta", "Epsilon")
        )
        patients.declare_death(
            s, patient_id=dead, died_at=NOW - timedelta(days=1), place="Domicile",
            declared_by_id=w.physician,
        )  # fmt: skip
        patients.merge_identities(s, survivor_id=survivor, merged_id=merged, reason="Doublon")
        booked = book(s, w, patient_id=patient).id
        cancelled = book(s, w, patient_id=other, start_at=SLOT + timedelta(hours=2)).id
        scheduling.cancel_appointment(s, appointment_id=cancelled, reason="Empêchement")
        temp = staff.create_professional(
            s, profession="physician", family_name="Remplaçant", given_name="Paul", rpps=rpps(60)
        ).id
        user = staff.create_user(s, username="dr.temp", display_name="Dr T", professional_id=temp)
        staff.grant_habilitation(
            s, user_id=user.id, establishment_id=w.est_a, role="physician",
            valid_from=date(2020, 1, 1), valid_until=SLOT.date() - timedelta(days=1),
        )  # fmt: skip
    return Scene(w, patient, other, dead, merged, booked, cancelled, temp)


def history(s: Session, appointment_id: int) -> list[tuple[Any, ...]]:
    return [
        (e.kind, e.old_start_at, e.new_start_at, e.old_status, e.new_status, e.note)
        for e in care_store.appointment_history(s, appointment_id)
    ]


def test_book_move_and_cancel_keep_a_history(db: Database, scene: Scene) -> None:
    later = SLOT + timedelta(days=1, hours=1)
    with db.transaction() as s:
        a = book(
            s, scene.w, patient_id=scene.other, start_at=SLOT + timedelta(hours=4),
            department_id=scene.w.dept_a, reason=" Suivi ", recorded_by_id=scene.w.physician_user,
        )  # fmt: skip
        scheduling.move_appointment(s, appointment_id=a.id, new_start_at=later, note=" Congés ")
        scheduling.move_appointment(
            s, appointment_id=a.id, new_start_at=later + timedelta(minutes=10), new_duration_min=45
        )  # overlaps its own old slot: not a conflict
        scheduling.cancel_appointment(s, appointment_id=a.id, reason="Patient guéri")
    with db.transaction() as s:
        stored = s.get(Appointment, a.id)
        assert stored is not None
        assert (stored.start_at, stored.duration_min, stored.status, stored.reason) == (
            later + timedelta(minutes=10), 45, AppointmentStatus.CANCELLED, "Suivi",
        )  # fmt: skip
        assert stored.department_id == scene.w.dept_a
        assert history(s, a.id) == [
            ("booked", None, SLOT + timedelta(hours=4), None, "booked", None),
            ("moved", SLOT + timedelta(hours=4), later, None, None, "Congés"),
            ("moved", later, later + timedelta(minutes=10), None, None, None),
            ("status", None, None, "booked", "cancelled", "Patient guéri"),
        ]
        [first] = care_store.appointment_history(s, a.id)[:1]
        assert first.recorded_by_id == scene.w.physician_user


def test_times_are_stored_in_utc(db: Database, scene: Scene) -> None:
    paris = SLOT.astimezone(ZoneInfo("Europe/Paris")) + timedelta(hours=5)
    with db.transaction() as s:
        a = book(s, scene.w, patient_id=scene.other, start_at=paris)
    with db.transaction() as s:
        stored = s.get(Appointment, a.id)
        assert stored is not None and stored.start_at == paris
        assert stored.start_at.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("start", "duration"),
    [
        (SLOT - timedelta(minutes=30), 30),
        (SLOT + timedelta(minutes=30), 15),
        (SLOT - timedelta(hours=8), 480),
    ],
    ids=["ends-as-it-starts", "starts-as-it-ends", "longest-ends-as-it-starts"],
)
def test_adjacent_slots_do_not_clash(
    db: Database, scene: Scene, start: datetime, duration: int
) -> None:
    with db.transaction() as s:
        book(s, scene.w, patient_id=scene.patient, start_at=start, duration_min=duration)


def test_a_cancelled_slot_can_be_booked_again(db: Database, scene: Scene) -> None:
    with db.transaction() as s:
        a = book(s, scene.w, patient_id=scene.patient, start_at=SLOT + timedelta(hours=2))
    assert a.status == AppointmentStatus.BOOKED


def during(s: Session, appointment_id: int) -> datetime:
    """A moment during the appointment, when arrival and completion can be recorded."""
    appointment = s.get(Appointment, appointment_id)
    assert appointment is not None
    return appointment.start_at + timedelta(minutes=5)


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        (["arrived", "done"], True),
        (["arrived", "cancelled"], True),
        (["no_show"], True),
        (["done"], False),
        (["booked"], False),
        (["arrived", "no_show"], False),
        (["arrived", "booked"], False),
        (["arrived", "done", "cancelled"], False),
        (["no_show", "arrived"], False),
        (["cancelled", "booked"], False),
        (["cancelled", "arrived"], False),
    ],
)
def test_status_transitions(db: Database, scene: Scene, path: list[str], allowed: bool) -> None:
    *steps, last = path
    previous = steps[-1] if steps else "booked"
    with db.transaction() as s:
        for step in steps:
            scheduling.set_appointment_status(
                s, appointment_id=scene.booked, status=step, now=during(s, scene.booked)
            )

    def final(s: Session) -> object:
        return scheduling.set_appointment_status(
            s, appointment_id=scene.booked, status=last, now=during(s, scene.booked)
        )

    if not allowed:
        assert_refused(db, final, ConflictError, "status", f"{previous} cannot become {last}")
        return
    with db.transaction() as s:
        final(s)
    with db.transaction() as s:
        assert s.get(Appointment, scene.booked).status == last  # type: ignore[union-attr]
        assert history(s, scene.booked)[-1][3:5] == (previous, last)


def test_death_cancels_only_the_appointments_after_it(db: Database, scene: Scene) -> None:
    w = scene.w
    with db.transaction() as s:
        earlier = book(
            s, w, patient_id=scene.patient, start_at=NOW - timedelta(hours=3),
            now=NOW - timedelta(days=1),
        )  # fmt: skip
        arrived = book(s, w, patient_id=scene.patient, start_at=SLOT + timedelta(days=1))
        scheduling.set_appointment_status(
            s, appointment_id=arrived.id, status="arrived", now=during(s, arrived.id)
        )
        patients.declare_death(
            s, patient_id=scene.patient, died_at=NOW - timedelta(hours=1), place="Domicile",
            declared_by_id=w.physician, recorded_by_id=w.physician_user,
        )  # fmt: skip
    with db.transaction() as s:
        statuses = {a: s.get(Appointment, a).status for a in (earlier.id, scene.booked, arrived.id)}  # type: ignore[union-attr]
        assert statuses == {
            earlier.id: AppointmentStatus.BOOKED,
            scene.booked: AppointmentStatus.CANCELLED,
            arrived.id: AppointmentStatus.CANCELLED,
        }
        assert history(s, arrived.id)[-1][3:] == ("arrived", "cancelled", "patient deceased")
        [death] = s.scalars(
            select(IdentityEvent).where(
                IdentityEvent.patient_id == scene.patient, IdentityEvent.kind == "death_declared"
            )
        )
        assert sorted(death.details["cancelled_appointments"]) == sorted([scene.booked, arrived.id])
    assert_refused(
        db, lambda s: book(s, w, patient_id=scene.patient, start_at=SLOT + timedelta(days=2)),
        ConflictError, "patient_id", "deceased",
    )  # fmt: skip


def test_habilitation_days_are_paris_days_whatever_the_zone_given(
    db: Database, scene: Scene
) -> None:
    first_day = SLOT.date() + timedelta(days=30)
    paris = datetime(
        first_day.year, first_day.month, first_day.day, 0, 30, tzinfo=ZoneInfo("Europe/Paris")
    )
    with db.transaction() as s:
        user = staff.create_user(s, username="dr.new", display_name="N", professional_id=scene.w.gp)
        staff.grant_habilitation(
            s, user_id=user.id, establishment_id=scene.w.est_a, role="physician",
            valid_from=first_day,
        )  # fmt: skip
    for start in (paris, paris.astimezone(UTC)):  # the same instant twice
        with db.transaction() as s:
            a = book(s, scene.w, patient_id=scene.other, practitioner_id=scene.w.gp, start_at=start)
            scheduling.cancel_appointment(s, appointment_id=a.id, reason="Essai")


booking = call(
    scheduling.book_appointment, patient_id=at("other"), practitioner_id=at("w.physician"),
    establishment_id=at("w.est_a"), start_at=SLOT + timedelta(hours=4), duration_min=30,
    reason="Consultation",
)  # fmt: skip
move = call(
    scheduling.move_appointment, appointment_id=at("booked"), new_start_at=SLOT + timedelta(days=1)
)
status = call(scheduling.set_appointment_status, appointment_id=at("booked"))
cancel = call(scheduling.cancel_appointment, appointment_id=at("booked"), reason="Empêchement")


def move_onto_another(s: Session, c: Scene) -> object:
    book(s, c.w, patient_id=c.other, start_at=SLOT + timedelta(days=1))
    later = SLOT + timedelta(days=1, minutes=20)
    return scheduling.move_appointment(s, appointment_id=c.booked, new_start_at=later)


# fmt: off
BAD_INPUTS = [
    pytest.param(booking(patient_id=999), NotFoundError, "patient_id", "patient #999", id="unknown-patient"),
    pytest.param(booking(patient_id=at("merged")), ConflictError, "patient_id", "was merged into", id="merged-patient"),
    pytest.param(booking(patient_id=at("dead")), ConflictError, "patient_id", "deceased", id="deceased-patient"),
    pytest.param(booking(establishment_id=999), NotFoundError, "establishment_id", "#999", id="unknown-establishment"),
    pytest.param(booking(practitioner_id=999), NotFoundError, "practitioner_id", "practitioner #999", id="unknown-practitioner"),
    pytest.param(booking(practitioner_id=at("w.secretary")), ValidationError, "practitioner_id", "no clinical habilitation", id="secretary"),
    pytest.param(booking(practitioner_id=at("w.gp")), ValidationError, "practitioner_id", "no clinical habilitation", id="outside-gp"),
    pytest.param(booking(practitioner_id=at("w.physician_b")), ValidationError, "practitioner_id", "no clinical habilitation", id="other-establishment"),
    pytest.param(booking(practitioner_id=at("temp")), ValidationError, "practitioner_id", "on that day", id="habilitation-expired"),
    pytest.param(booking(department_id=999), NotFoundError, "department_id", "#999", id="unknown-department"),
    pytest.param(booking(department_id=at("w.dept_b")), ValidationError, "department_id", "another establishment", id="department-elsewhere"),
    pytest.param(booking(start_at=NOW - timedelta(minutes=10)), ValidationError, "start_at", "in the past", id="past"),
    pytest.param(booking(start_at=SLOT.replace(tzinfo=None)), ValidationError, "start_at", "time zone", id="naive"),
    pytest.param(booking(duration_min=4), ValidationError, "duration_min", "between 5 and 480", id="too-short"),
    pytest.param(booking(duration_min=481), ValidationError, "duration_min", "between 5 and 480", id="too-long"),
    pytest.param(booking(reason=" "), ValidationError, "reason", "required", id="no-reason"),
    pytest.param(booking(reason="x" * 201), ValidationError, "reason", "longer than 200", id="reason-too-long"),
    pytest.param(booking(start_at=SLOT + timedelta(minutes=29)), ConflictError, "start_at", "practitioner already has", id="practitioner-overlap-end"),
    pytest.param(booking(start_at=SLOT - timedelta(minutes=10), duration_min=11), ConflictError, "start_at", "practitioner already has", id="practitioner-overlap-start"),
    pytest.param(booking(start_at=SLOT - timedelta(hours=1), duration_min=180), ConflictError, "start_at", "practitioner already has", id="practitioner-overlap-around"),
    pytest.param(booking(patient_id=at("patient"), practitioner_id=at("w.nurse"), start_at=SLOT + timedelta(minutes=15)), ConflictError, "start_at", "patient already has", id="patient-overlap"),
    pytest.param(move(appointment_id=at("cancelled")), ConflictError, None, "only a booked appointment", id="move-cancelled"),
    pytest.param(move(appointment_id=999), NotFoundError, "appointment_id", "appointment #999", id="move-unknown"),
    pytest.param(move(new_start_at=NOW - timedelta(hours=1)), ValidationError, "start_at", "in the past", id="move-to-past"),
    pytest.param(move(new_duration_min=500), ValidationError, "duration_min", "between", id="move-too-long"),
    pytest.param(move(note="\x07"), ValidationError, "note", "control", id="move-bad-note"),
    pytest.param(move_onto_another, ConflictError, "start_at", "already has", id="move-onto-another"),
    pytest.param(status(status="gone"), ValidationError, "status", "unknown status", id="status-unknown"),
    pytest.param(status(appointment_id=999, status="arrived"), NotFoundError, "appointment_id", "#999", id="status-unknown-appointment"),
    pytest.param(cancel(reason=" "), ValidationError, "reason", "required", id="cancel-without-reason"),
    pytest.param(cancel(appointment_id=at("cancelled")), ConflictError, "status", "cancelled cannot become cancelled", id="cancel-twice"),
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


def test_arrival_only_on_the_day_and_completion_once_begun(db: Database, scene: Scene) -> None:
    with db.transaction() as s:
        start = during(s, scene.booked) - timedelta(minutes=5)
    too_early = start - timedelta(days=2)

    def arrive_early(s: Session) -> object:
        return scheduling.set_appointment_status(
            s, appointment_id=scene.booked, status="arrived", now=too_early
        )

    def no_show_early(s: Session) -> object:
        return scheduling.set_appointment_status(
            s, appointment_id=scene.booked, status="no_show", now=start - timedelta(minutes=30)
        )

    assert_refused(db, arrive_early, ConflictError, "status", "on the day of the appointment")
    assert_refused(db, no_show_early, ConflictError, "status", "has not begun")
