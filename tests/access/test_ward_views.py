"""The stay screens' reads: a unit's stays in progress as identity summaries (recorded,
every patient named), one stay for its transfer or discharge, an admission form decided as
the admission itself; refusals recorded, and units outside one's establishments missing."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from hygie.access import ward_views, writes
from hygie.access.actor import Actor, load_actor
from hygie.access.gateway import AccessDenied
from hygie.db import Database
from hygie.errors import NotFoundError
from hygie.models import AuditEvent
from hygie.patients import service as patients
from tests.factories import World

AT = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)


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


def admit(db: Database, world: World, patient_id: int, dept: int | None = None) -> int:
    return writes.admit(
        db, actor(db, "sec.a"), patient_id=patient_id, establishment_id=world.est_a,
        department_id=dept or world.dept_a, responsible_id=world.physician, at=AT,
        reason="Pneumopathie", bed="12",
    )  # fmt: skip


def test_the_ward_lists_the_stays_in_progress_as_summaries_and_records_them(
    db: Database, world: World
) -> None:
    here, elsewhere = new_patient(db, world, "Dupont"), new_patient(db, world, "Durand")
    stay = admit(db, world, here)
    admit(db, world, elsewhere, dept=world.dept_a2)

    ward = ward_views.ward(db, actor(db, "ide.a"), world.dept_a)

    assert ward.unit.name == "Médecine"
    assert [(r.stay_id, r.patient.id, r.bed, r.kind) for r in ward.residents] == [
        (stay, here, "12", "inpatient")
    ]
    assert ward.residents[0].patient.birth_name == "Dupont"
    assert ward.residents[0].responsible.endswith("NomB")
    assert not hasattr(ward.residents[0], "reason")  # least data: never why
    event = last_event(db)
    assert (event.action, event.outcome, event.level) == ("stay.list", "allowed", "summary")
    assert event.patient_ids == [here]
    assert event.details["criteria"] == {"department_id": world.dept_a, "statuses": ["in_progress"]}


def test_a_transfer_and_a_discharge_show_in_the_ward(db: Database, world: World) -> None:
    p = new_patient(db, world, "Martin")
    stay = admit(db, world, p)
    sec = actor(db, "sec.a")
    writes.transfer(
        db, sec, encounter_id=stay, department_id=world.dept_a2, at=AT + timedelta(hours=1)
    )
    assert ward_views.ward(db, sec, world.dept_a).residents == []
    assert [r.stay_id for r in ward_views.ward(db, sec, world.dept_a2).residents] == [stay]
    writes.discharge(db, sec, encounter_id=stay, at=AT + timedelta(hours=2))
    assert ward_views.ward(db, sec, world.dept_a2).residents == []


def test_units_outside_ones_establishments_do_not_exist(db: Database, world: World) -> None:
    sec = actor(db, "sec.a")
    assert {u.id for u in ward_views.units(db, sec)} == {world.dept_a, world.dept_a2}
    with pytest.raises(NotFoundError):
        ward_views.ward(db, sec, world.dept_b)
    assert (last_event(db).action, last_event(db).outcome) == ("stay.list", "denied")
    with pytest.raises(NotFoundError):
        ward_views.ward(db, sec, 999_999)


def test_roles_without_stays_are_refused_and_recorded(db: Database, world: World) -> None:
    admin = actor(db, "it.admin")
    assert ward_views.units(db, admin) == []
    with pytest.raises(AccessDenied):
        ward_views.ward(db, admin, world.dept_a)
    event = last_event(db)
    assert (event.action, event.outcome, event.username) == ("stay.list", "denied", "it.admin")
    p = new_patient(db, world, "Petit")
    with pytest.raises(AccessDenied):  # IT administrators read no identity
        ward_views.admission(db, admin, p)
    assert (last_event(db).action, last_event(db).outcome) == ("stay.admission", "denied")


def test_one_stay_is_read_with_its_units_and_recorded(db: Database, world: World) -> None:
    p = new_patient(db, world, "Leroy")
    stay = admit(db, world, p)
    view = ward_views.current_stay(db, actor(db, "ide.a"), stay)
    assert (view.patient.id, view.unit.id, view.bed, view.status) == (
        p,
        world.dept_a,
        "12",
        "in_progress",
    )
    assert {u.id for u in view.units} == {world.dept_a, world.dept_a2}
    event = last_event(db)
    assert (event.action, event.outcome, event.level, event.patient_ids) == (
        "stay.read", "allowed", "record", [p]
    )  # fmt: skip
    with pytest.raises(NotFoundError):
        ward_views.current_stay(db, actor(db, "dr.b"), stay)  # another establishment's
    assert (last_event(db).action, last_event(db).outcome) == ("stay.read", "denied")
    with pytest.raises(NotFoundError):
        ward_views.current_stay(db, actor(db, "ide.a"), 999_999)


def test_the_admission_form_offers_units_and_physicians(db: Database, world: World) -> None:
    p = new_patient(db, world, "Moreau")
    form = ward_views.admission(db, actor(db, "sec.a"), p)
    assert form.patient.birth_name == "Moreau"
    assert {u.id for u in form.units} == {world.dept_a, world.dept_a2}
    assert [d.id for d in form.physicians[world.est_a]] == [world.physician]
    event = last_event(db)
    assert (event.action, event.outcome, event.patient_ids) == ("stay.admission", "allowed", [p])
    with pytest.raises(NotFoundError):  # a patient of establishment B only
        ward_views.admission(db, actor(db, "sec.a"), new_patient(db, world, "Roux", world.est_b))
