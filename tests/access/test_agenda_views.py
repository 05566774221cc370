"""The reception screens' reads: a practitioner's agenda and the establishment's day list as
identity summaries (recorded, every patient named; the reason only on the agenda), the
physicians one may book, a booking form decided as the booking itself; refusals recorded,
and patients outside one's establishments missing."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import select

from hygie.access import agenda_views, writes
from hygie.access.actor import Actor, load_actor
from hygie.access.gateway import AccessDenied
from hygie.db import Database
from hygie.errors import NotFoundError, ValidationError
from hygie.kit.time import PARIS
from hygie.models import AuditEvent
from hygie.patients import service as patients
from tests.factories import World

TOMORROW = datetime.now(PARIS).date() + timedelta(days=1)


def actor(db: Database, username: str) -> Actor:
    with db.sessions() as s:
        return load_actor(s, username=username, how="web", ip="127.0.0.1", user_agent="pytest")


def last_event(db: Database) -> AuditEvent:
    with db.sessions() as s:
        event = s.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
        assert event is not None
        return event


def new_patient(db: Database, world: World, name: str, est: int | None = None) -> int:
    with db.transaction() as s:
        return patients.create_patient(
            s, establishment_id=est or world.est_a, birth_name=name,
            birth_first_names=["Camille"], sex="female", birth_date=date(1985, 6, 1),
        ).patient.id  # fmt: skip


def book(db: Database, world: World, patient_id: int, hour: int, practitioner: int | None = None,
         est: int | None = None) -> int:  # fmt: skip
    at = datetime.combine(TOMORROW, time(hour), tzinfo=PARIS).astimezone(UTC)
    return writes.book_appointment(
        db, actor(db, "sec.a" if est is None else "dr.b"), patient_id=patient_id,
        establishment_id=est or world.est_a, practitioner_id=practitioner or world.physician,
        start_at=at, duration_min=20, reason="Contrôle tensionnel",
    )  # fmt: skip


def test_a_practitioners_day_lists_summaries_with_the_reason_and_records_them(
    db: Database, world: World
) -> None:
    first, second = new_patient(db, world, "Dupont"), new_patient(db, world, "Durand")
    late, early = book(db, world, first, 11), book(db, world, second, 9)

    day = agenda_views.agenda(
        db, actor(db, "sec.a"), start=TOMORROW, end=TOMORROW + timedelta(days=1),
        practitioner_id=world.physician,
    )  # fmt: skip

    assert [(b.id, b.patient.id) for b in day] == [(early, second), (late, first)]
    assert day[0].patient.birth_name == "Durand"
    assert day[0].reason == "Contrôle tensionnel"
    assert day[0].file_number and day[0].practitioner.endswith("NomB")
    assert day[0].status == "booked"
    event = last_event(db)
    assert (event.action, event.outcome, event.level) == ("appointment.list", "allowed", "summary")
    assert event.patient_ids == sorted([first, second])
    assert event.details["criteria"]["practitioner_id"] == world.physician


def test_the_day_list_of_reception_leaves_the_reason_out(db: Database, world: World) -> None:
    p = new_patient(db, world, "Martin")
    booked = book(db, world, p, 10)
    elsewhere = book(db, world, new_patient(db, world, "Bernard", world.est_b), 10,
                     practitioner=world.physician_b, est=world.est_b)  # fmt: skip

    day = agenda_views.agenda(
        db, actor(db, "sec.a"), start=TOMORROW, end=TOMORROW + timedelta(days=1),
        with_reason=False,
    )  # fmt: skip

    assert [b.id for b in day] == [booked]  # not the other establishment's
    assert elsewhere not in [b.id for b in day]
    assert day[0].reason is None


def test_a_period_is_a_week_at_most(db: Database, world: World) -> None:
    with pytest.raises(ValidationError):
        agenda_views.agenda(db, actor(db, "sec.a"), start=TOMORROW,
                            end=TOMORROW + timedelta(days=8))  # fmt: skip


def test_a_role_that_reads_no_appointments_is_refused_and_recorded(
    db: Database, world: World
) -> None:
    with pytest.raises(AccessDenied):
        agenda_views.agenda(db, actor(db, "it.admin"), start=TOMORROW,
                            end=TOMORROW + timedelta(days=1))  # fmt: skip
    event = last_event(db)
    assert (event.action, event.outcome) == ("appointment.list", "denied")


def test_the_physicians_one_may_book_are_those_of_ones_establishments(
    db: Database, world: World
) -> None:
    found = agenda_views.practitioners(db, actor(db, "sec.a"))
    assert [p.id for p in found] == [world.physician]
    assert found[0].establishment_ids == (world.est_a,)


def test_a_booking_form_is_decided_as_the_booking_and_recorded(db: Database, world: World) -> None:
    p = new_patient(db, world, "Petit")
    offer = agenda_views.booking(db, actor(db, "sec.a"), p)
    assert offer.patient.birth_name == "Petit"
    assert [d.id for d in offer.practitioners] == [world.physician]
    event = last_event(db)
    assert (event.action, event.outcome, event.patient_ids) == (
        "appointment.booking",
        "allowed",
        [p],
    )

    with pytest.raises(AccessDenied):  # a nurse reads appointments but does not book
        agenda_views.booking(db, actor(db, "ide.a"), p)
    assert last_event(db).outcome == "denied"

    other = new_patient(db, world, "Lefebvre", world.est_b)
    with pytest.raises(NotFoundError):  # another establishment's patient does not exist here
        agenda_views.booking(db, actor(db, "sec.a"), other)
    with pytest.raises(NotFoundError):
        agenda_views.booking(db, actor(db, "sec.a"), 999_999)
    assert last_event(db).outcome == "denied"
