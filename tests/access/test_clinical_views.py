"""The clinical entry pages' reads and the condition write: the form's patient with the
preview of the write decision, the allergies that concern a drug, a condition recorded
with its status; each decided and recorded."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from hygie.access import clinical_views
from hygie.access.actor import Actor, load_actor
from hygie.access.gateway import AccessDenied
from hygie.db import Database
from hygie.errors import NotFoundError, ValidationError
from hygie.models import AuditEvent, Condition
from hygie.patients import service as patients
from tests.factories import World


def actor(db: Database, username: str) -> Actor:
    with db.sessions() as s:
        return load_actor(s, username=username, how="web", ip="127.0.0.1", user_agent="pytest")


def last_event(db: Database) -> AuditEvent:
    with db.sessions() as s:
        event = s.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
        assert event is not None
        return event


def test_the_prescription_form_knows_the_patient_allergies_and_where_to_write(
    db: Database, world: World, patient: int
) -> None:
    form = clinical_views.entry_form(db, actor(db, "dr.a"), patient, entry="prescription")
    assert (form.birth_name, form.first_name, form.deceased) == ("Martin", "Alice", False)
    assert form.may_write and form.establishment_id == world.est_a
    assert [(a.substance, a.severity) for a in form.allergies] == [("Pénicillines", "severe")]
    event = last_event(db)
    assert (event.action, event.outcome) == ("clinical.entry_form", "allowed")
    assert set(event.categories) == {"identity", "allergies"}
    assert event.details["entry"] == "prescription"


def test_a_nurse_is_told_before_submitting_that_she_may_not_prescribe(
    db: Database, world: World, patient: int
) -> None:
    nurse = actor(db, "ide.a")
    form = clinical_views.entry_form(db, nurse, patient, entry="prescription")
    assert not form.may_write and form.establishment_id is None
    assert "may not write prescriptions" in form.reason
    assert form.allergies == ()  # no care relationship: her chart read holds none
    # A note needs a care relationship she lacks: break-the-glass would open it.
    note = clinical_views.entry_form(db, nurse, patient, entry="note")
    assert not note.may_write and note.break_glass_possible


def test_the_death_form_and_other_entries_for_the_physician(
    db: Database, world: World, patient: int
) -> None:
    dr = actor(db, "dr.a")
    for entry in ("allergy", "condition", "note", "death"):
        form = clinical_views.entry_form(db, dr, patient, entry=entry)
        assert form.may_write, entry
    with pytest.raises(ValidationError):
        clinical_views.entry_form(db, dr, patient, entry="billing")


def test_a_patient_outside_the_actor_establishments_is_not_found(
    db: Database, world: World, patient: int
) -> None:
    with pytest.raises(NotFoundError):
        clinical_views.entry_form(db, actor(db, "dr.b"), patient, entry="note")
    with pytest.raises(NotFoundError):
        clinical_views.allergy_conflicts(db, actor(db, "dr.b"), patient_id=patient,
                                         drug_code="D0031")  # fmt: skip
    assert last_event(db).outcome == "denied"


def test_the_allergies_a_drug_concerns_are_named_and_the_read_recorded(
    db: Database, world: World, patient: int
) -> None:
    dr = actor(db, "dr.a")
    found = clinical_views.allergy_conflicts(db, dr, patient_id=patient, drug_code="D0031")
    assert [(c.substance, c.severity) for c in found] == [("Pénicillines", "severe")]
    event = last_event(db)
    assert (event.action, event.outcome, event.categories) == (
        "allergy.conflicts", "allowed", ["allergies"],
    )  # fmt: skip
    assert event.details == {"drug_code": "D0031", "conflicts": 1}
    paracetamol = clinical_views.allergy_conflicts(db, dr, patient_id=patient, drug_code="D0001")
    assert paracetamol == []


def test_without_a_care_relationship_the_allergies_stay_closed(
    db: Database, world: World, patient: int
) -> None:
    with pytest.raises(AccessDenied) as refused:
        clinical_views.allergy_conflicts(db, actor(db, "ide.a"), patient_id=patient,
                                         drug_code="D0031")  # fmt: skip
    assert refused.value.break_glass_possible
    event = last_event(db)
    assert (event.action, event.outcome) == ("allergy.conflicts", "denied")


def test_a_condition_is_recorded_with_its_status_in_one_event(
    db: Database, world: World, patient: int
) -> None:
    dr = actor(db, "dr.a")
    new_id = clinical_views.record_condition(
        db, dr, patient_id=patient, establishment_id=world.est_a, code="j45.9", status="resolved"
    )
    with db.sessions() as s:
        row = s.get(Condition, new_id)
        assert row is not None and (row.code, row.status.value) == ("J45.9", "resolved")
    event = last_event(db)
    assert (event.action, event.outcome) == ("condition.add", "allowed")
    assert event.details == {"condition_id": new_id, "status": "resolved"}
    active = clinical_views.record_condition(
        db, dr, patient_id=patient, establishment_id=world.est_a, code="E11.9"
    )
    assert last_event(db).details == {"condition_id": active}


def test_a_refused_condition_writes_nothing(db: Database, world: World, patient: int) -> None:
    with pytest.raises(AccessDenied):
        clinical_views.record_condition(
            db, actor(db, "ide.a"), patient_id=patient, establishment_id=world.est_a, code="E11.9"
        )
    with pytest.raises(ValidationError) as bad:
        clinical_views.record_condition(
            db, actor(db, "dr.a"), patient_id=patient, establishment_id=world.est_a,
            code="E11.9", status="bogus",
        )  # fmt: skip
    assert bad.value.field == "status"
    with db.sessions() as s:
        assert s.scalars(select(Condition).where(Condition.patient_id == patient)).all() == []


def test_a_deceased_patient_form_says_so(db: Database, world: World, patient: int) -> None:
    from datetime import UTC, datetime, timedelta

    with db.transaction() as s:
        patients.declare_death(
            s, patient_id=patient, died_at=datetime.now(UTC) - timedelta(hours=1),
            place="Clinique A", declared_by_id=world.physician, recorded_by_id=world.physician_user,
        )  # fmt: skip
    form = clinical_views.entry_form(db, actor(db, "dr.a"), patient, entry="prescription")
    assert form.deceased
