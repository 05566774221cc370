"""The gateway: search returns identity summaries only, a chart carries only what the
actor's roles and care relationship allow, every access and refusal is in the trail."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from hygie.access import gateway
from hygie.access.actor import Actor, load_actor
from hygie.access.trail import verify
from hygie.db import Database
from hygie.errors import NotFoundError, ValidationError
from hygie.models import AuditEvent
from tests.factories import World, nir


def actor(db: Database, username: str) -> Actor:
    with db.sessions() as s:
        return load_actor(s, username=username, how="api", ip="127.0.0.1", user_agent="pytest")


def events(db: Database) -> list[AuditEvent]:
    with db.sessions() as s:
        return list(s.scalars(select(AuditEvent).order_by(AuditEvent.seq)))


def test_search_returns_summaries_and_is_audited(db: Database, world: World, patient: int) -> None:
    found = gateway.search_patients(db, actor(db, "sec.a"), name="mart")
    assert [p.id for p in found] == [patient]
    assert not hasattr(found[0], "nir") and not hasattr(found[0], "notes")
    (event,) = events(db)[-1:]
    assert (event.action, event.outcome, event.level, event.patient_ids, event.record_count) == (
        "patient.search", "allowed", "summary", [patient], 1,
    )  # fmt: skip


def test_search_needs_two_letters(db: Database, world: World) -> None:
    with pytest.raises(ValidationError, match="at least 2 letters"):
        gateway.search_patients(db, actor(db, "sec.a"), name="m")


def test_outside_the_establishments_nothing_is_found(
    db: Database, world: World, patient: int
) -> None:
    assert gateway.search_patients(db, actor(db, "dr.b"), name="martin") == []
    with pytest.raises(NotFoundError):
        gateway.read_chart(db, actor(db, "dr.b"), patient)
    assert events(db)[-1].outcome == "denied"


def test_physician_with_an_appointment_reads_the_clinical_record(
    db: Database, world: World, patient: int
) -> None:
    chart = gateway.read_chart(db, actor(db, "dr.a"), patient)
    assert chart.blocks["notes"][0]["text"] == "Suivi : tout va bien."
    assert chart.blocks["allergies"][0]["substance"] == "Pénicillines"
    assert chart.basis in ("appointment", "explicit", "attending")
    assert "** ***" in chart.blocks["identity"]["nir"]  # a physician sees the NIR masked
    event = events(db)[-1]
    assert (event.action, event.level, event.patient_ids) == ("chart.read", "record", [patient])
    # Who, in which role, through which establishment.
    assert (event.username, event.role, event.establishment_id) == (
        "dr.a",
        "physician",
        world.est_a,
    )
    assert {"notes", "allergies", "identity"} <= set(event.categories)


def test_secretary_sees_administration_not_clinical_content(
    db: Database, world: World, patient: int
) -> None:
    chart = gateway.read_chart(db, actor(db, "sec.a"), patient)
    assert {"identity", "contact", "coverage", "appointments"} <= set(chart.blocks)
    assert not {"notes", "allergies", "conditions", "prescriptions"} & set(chart.blocks)
    assert chart.blocks["identity"]["nir"] == nir(sex=2)  # coverage work needs it


def test_nurse_without_relationship_uses_break_the_glass(
    db: Database, world: World, patient: int
) -> None:
    nurse = actor(db, "ide.a")
    chart = gateway.read_chart(db, nurse, patient)
    assert "notes" not in chart.blocks and "notes" in chart.withheld
    with pytest.raises(ValidationError):
        gateway.break_glass(
            db, nurse, patient_id=patient, reason_code="emergency", reason_text="short"
        )
    gateway.break_glass(
        db,
        nurse,
        patient_id=patient,
        reason_code="emergency",
        reason_text="Malaise en salle d'attente",
    )
    chart = gateway.read_chart(db, nurse, patient)
    assert "notes" in chart.blocks and chart.basis == "break_the_glass"
    assert [e.action for e in events(db)][-2:] == ["break_glass", "chart.read"]


def test_it_administrator_reads_no_patient(db: Database, world: World, patient: int) -> None:
    admin = actor(db, "it.admin")
    with pytest.raises(gateway.AccessDenied):
        gateway.search_patients(db, admin, name="martin")
    with pytest.raises((gateway.AccessDenied, NotFoundError)):
        gateway.read_chart(db, admin, patient)
    assert [e.outcome for e in events(db)][-2:] == ["denied", "denied"]


def test_the_trail_of_these_accesses_verifies(db: Database, world: World, patient: int) -> None:
    gateway.search_patients(db, actor(db, "sec.a"), name="martin")
    gateway.read_chart(db, actor(db, "dr.a"), patient)
    with pytest.raises(NotFoundError):
        gateway.read_chart(db, actor(db, "dr.b"), patient)
    assert [e.action for e in events(db)] == ["patient.search", "chart.read", "chart.read"]
    assert verify(db).ok
