"""The chart page's read: the gate's chart read (decided and recorded once), the end of the
actor's own break-the-glass, and the names the blocks refer to."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from hygie.access import chart_views, gateway
from hygie.access.actor import Actor, load_actor
from hygie.db import Database
from hygie.errors import NotFoundError
from hygie.models import AuditEvent
from tests.factories import World


def actor(db: Database, username: str) -> Actor:
    with db.sessions() as s:
        return load_actor(s, username=username, how="web", ip="127.0.0.1", user_agent="pytest")


def actions(db: Database) -> list[tuple[str, str]]:
    with db.sessions() as s:
        return [
            (e.action, e.outcome) for e in s.scalars(select(AuditEvent).order_by(AuditEvent.id))
        ]


def test_the_physician_chart_names_the_practitioners_and_records_one_read(
    db: Database, world: World, patient: int
) -> None:
    before = len(actions(db))
    page = chart_views.chart_page(db, actor(db, "dr.a"), patient)
    assert page.chart.basis == "appointment" and "allergies" in page.chart.blocks
    assert page.glass_expires_at is None  # opened by the care relationship
    assert page.professionals[world.physician] == "Prénom NOMB"
    assert page.establishments == {world.est_a: "Clinique A"}
    assert actions(db)[before:] == [("chart.read", "allowed")]


def test_break_the_glass_gives_the_banner_its_end(db: Database, world: World, patient: int) -> None:
    nurse = actor(db, "ide.a")
    page = chart_views.chart_page(db, nurse, patient)
    assert page.chart.break_glass_possible and page.glass_expires_at is None
    grant = gateway.break_glass(
        db, nurse, patient_id=patient, reason_code="emergency",
        reason_text="Malaise en salle d'attente",
    )  # fmt: skip
    page = chart_views.chart_page(db, nurse, patient)
    assert page.chart.basis == "break_the_glass" and "notes" in page.chart.blocks
    assert page.glass_expires_at is not None
    end = page.glass_expires_at
    end = end if end.tzinfo else end.replace(tzinfo=UTC)
    expected = grant.expires_at if grant.expires_at.tzinfo else grant.expires_at.replace(tzinfo=UTC)
    assert end == expected and end > datetime.now(UTC)


def test_a_patient_outside_the_establishments_is_not_found(
    db: Database, world: World, patient: int
) -> None:
    with pytest.raises(NotFoundError):
        chart_views.chart_page(db, actor(db, "dr.b"), patient)
    assert actions(db)[-1] == ("chart.read", "denied")


def test_the_secretary_gets_no_clinical_block(db: Database, world: World, patient: int) -> None:
    page = chart_views.chart_page(db, actor(db, "sec.a"), patient)
    assert not {"notes", "allergies", "conditions", "prescriptions"} & set(page.chart.blocks)
    assert not page.chart.break_glass_possible
