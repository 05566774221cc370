"""A patient's access history and the review of break-the-glass."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from hygie.access import gateway, history
from hygie.access.actor import Actor, load_actor
from hygie.db import Database
from hygie.errors import ConflictError, NotFoundError, ValidationError
from hygie.models import AuditEvent
from hygie.staff import service as staff
from tests.factories import DAY0, World


@pytest.fixture
def officer(db: Database, world: World) -> Actor:
    with db.transaction() as s:
        user = staff.create_user(s, username="rssi.a", display_name="RSSI")
        staff.grant_habilitation(
            s,
            user_id=user.id,
            establishment_id=world.est_a,
            role="security_officer",
            valid_from=DAY0,
        )
    return as_actor(db, "rssi.a")


def as_actor(db: Database, username: str) -> Actor:
    with db.sessions() as s:
        return load_actor(s, username=username, how="web", ip="127.0.0.1")


def test_history_lists_every_access_with_who_how_and_why(
    db: Database,
    world: World,
    patient: int,
    officer: Actor,
) -> None:
    gateway.read_chart(db, as_actor(db, "dr.a"), patient)
    nurse = as_actor(db, "ide.a")
    gateway.break_glass(
        db,
        nurse,
        patient_id=patient,
        reason_code="emergency",
        reason_text="Malaise en salle d'attente",
    )
    gateway.read_chart(db, nurse, patient)
    lines = history.access_history(db, officer, patient)
    assert [(line.who, line.action) for line in lines] == [
        ("ide.a", "chart.read"), ("ide.a", "break_glass"), ("dr.a", "chart.read"),
    ]  # fmt: skip
    assert lines[0].why == "break_the_glass" and lines[1].why == "break_the_glass:emergency"
    page = history.history_html(patient, lines)
    assert "Historique des accès" in page and "ide.a" in page
    assert json.loads(history.history_json(patient, lines))["accesses"][0]["who"] == "ide.a"
    # Reading the history is itself in the next history.
    assert history.access_history(db, officer, patient)[0].action == "patient.access_history"


def test_only_security_officers_read_a_history(db: Database, world: World, patient: int) -> None:
    with pytest.raises(gateway.AccessDenied):
        history.access_history(db, as_actor(db, "dr.a"), patient)


def test_break_the_glass_review(db: Database, world: World, patient: int, officer: Actor) -> None:
    nurse = as_actor(db, "ide.a")
    grant = gateway.break_glass(
        db, nurse, patient_id=patient, reason_code="other", reason_text="Vérification demandée"
    )
    assert [g.id for g in history.pending_reviews(db, officer)] == [grant.id]
    # Listing the queue names patients: it is in the trail, refusals included.
    with db.sessions() as s:
        listed = s.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert listed is not None and (listed.action, listed.level, listed.patient_ids) == (
        "break_glass.pending",
        "summary",
        [patient],
    )
    with pytest.raises(gateway.AccessDenied):
        history.pending_reviews(db, nurse)
    with db.sessions() as s:
        refused = s.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert refused is not None and (refused.action, refused.outcome) == (
        "break_glass.pending",
        "denied",
    )
    with pytest.raises(ValidationError):
        history.review_break_glass(db, officer, grant_id=grant.id, outcome="maybe", note="?")
    with pytest.raises(gateway.AccessDenied):
        history.review_break_glass(db, nurse, grant_id=grant.id, outcome="justified", note="moi")
    reviewed = history.review_break_glass(
        db, officer, grant_id=grant.id, outcome="unjustified", note="Pas de motif de soin"
    )
    assert reviewed.review_outcome == "unjustified" and reviewed.reviewed_by_id == officer.user_id
    assert history.pending_reviews(db, officer) == []
    with pytest.raises(ConflictError):
        history.review_break_glass(
            db, officer, grant_id=grant.id, outcome="justified", note="encore"
        )
    with pytest.raises(NotFoundError):
        history.review_break_glass(db, officer, grant_id=999_999, outcome="justified", note="?")
    with db.sessions() as s:
        attempts = s.scalars(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(2)).all()
    # Failed attempts are recorded too, with why.
    assert [(e.action, e.outcome, e.details["grant_id"]) for e in attempts] == [
        ("break_glass.review", "failed", 999_999), ("break_glass.review", "failed", grant.id),
    ]  # fmt: skip
    assert attempts[1].reason == "this break-the-glass was already reviewed"
