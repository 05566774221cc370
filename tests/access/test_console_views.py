"""The security console's reads: each for a security officer of the establishments
concerned only (refused and recorded otherwise), each recorded, none naming patients in a
list but the access history's own patient."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from hygie.access import console_views, gateway
from hygie.access.actor import Actor
from hygie.access.gateway import AccessDenied
from hygie.db import Database
from hygie.errors import NotFoundError, ValidationError
from hygie.kit.time import PARIS
from hygie.models import SecurityAlert, User
from hygie.staff import service as staff
from tests.access.test_gateway import events
from tests.access.test_history import as_actor
from tests.factories import DAY0, World


@pytest.fixture
def officer(db: Database, world: World) -> Actor:
    with db.transaction() as s:
        user = staff.create_user(s, username="rssi.a", display_name="RSSI")
        staff.grant_habilitation(s, user_id=user.id, establishment_id=world.est_a,
                                 role="security_officer", valid_from=DAY0)  # fmt: skip
    return as_actor(db, "rssi.a")


def _alert(db: Database, username: str) -> int:
    with db.transaction() as s:
        user = s.scalars(select(User).where(User.username == username)).one()
        alert = SecurityAlert(
            at=datetime.now(UTC), user_id=user.id, username=username, establishment_id=None,
            rule="records.1m", severity="high", response="contain", summary="too many records",
            evidence={"findings": [{"signal": "records.1m", "value": 30, "norm": 8}]},
        )  # fmt: skip
        s.add(alert)
        s.flush()
        return alert.id


def _lock(db: Database, username: str) -> None:
    with db.transaction() as s:
        user = s.scalars(select(User).where(User.username == username)).one()
        user.locked_at, user.locked_reason = datetime.now(UTC), "contained (alert #1)"


def test_an_alert_is_read_by_an_officer_of_the_account_only(
    db: Database, world: World, officer: Actor
) -> None:
    alert = _alert(db, "sec.a")
    line = console_views.read_alert(db, officer, alert)
    assert (line.username, line.rule, line.evidence["findings"][0]["value"]) == (
        "sec.a",
        "records.1m",
        30,
    )
    assert events(db)[-1].action == "alert.read" and events(db)[-1].username == "rssi.a"
    with pytest.raises(NotFoundError):
        console_views.read_alert(db, officer, alert + 1)
    assert events(db)[-1].outcome == "denied"
    with pytest.raises(AccessDenied):
        console_views.read_alert(db, as_actor(db, "dr.a"), alert)
    assert (events(db)[-1].action, events(db)[-1].outcome) == ("alert.read", "denied")


def test_an_accounts_day_counts_patients_per_hour_and_is_recorded(
    db: Database, world: World, patient: int, officer: Actor
) -> None:
    gateway.read_chart(db, as_actor(db, "dr.a"), patient)
    today = datetime.now(PARIS).date()
    seen = console_views.account_activity(db, officer, username="DR.A", day=today)
    assert seen.username == "dr.a" and not seen.locked
    assert sum(seen.activity.records) == 1 and len(seen.activity.records) in (23, 24, 25)
    assert seen.activity.record_norm > 0
    last = events(db)[-1]
    assert (last.action, last.patient_ids, last.details["account"]) == (
        "audit.activity",
        [],
        "dr.a",
    )
    # An account of another establishment does not exist for this officer.
    with pytest.raises(NotFoundError):
        console_views.account_activity(db, officer, username="dr.b", day=today)
    assert events(db)[-1].outcome == "denied"
    with pytest.raises(AccessDenied):
        console_views.account_activity(db, as_actor(db, "ide.a"), username="dr.a", day=today)


def test_locked_accounts_of_my_establishments(db: Database, world: World, officer: Actor) -> None:
    _lock(db, "sec.a")
    _lock(db, "dr.b")  # establishment B: not this officer's
    found = console_views.locked_accounts(db, officer)
    assert [a.username for a in found] == ["sec.a"]
    assert events(db)[-1].action == "accounts.locked"
    with pytest.raises(AccessDenied):
        console_views.locked_accounts(db, as_actor(db, "sec.a"))


def test_the_trail_narrowed_by_action_and_outcome(
    db: Database, world: World, patient: int, officer: Actor
) -> None:
    doctor = as_actor(db, "dr.a")
    gateway.read_chart(db, doctor, patient)
    gateway.search_patients(db, doctor, name="Mart")
    query = console_views.ConsoleQuery(username="dr.a", action="chart.read", outcome="allowed")
    page = console_views.search_events(db, officer, query)
    assert page.total == 1 and [e.action for e in page.events] == ["chart.read"]
    assert page.events[0].patient_ids == [patient]
    last = events(db)[-1]
    assert last.action == "audit.search" and last.details["criteria"]["action"] == "chart.read"
    none = console_views.search_events(db, officer, console_views.ConsoleQuery(
        username="dr.a", outcome="denied"))  # fmt: skip
    assert none.total == 0
    with pytest.raises(ValidationError) as bad:
        console_views.search_events(db, officer, console_views.ConsoleQuery(outcome="maybe"))
    assert bad.value.field == "outcome"
    later = datetime.now(UTC)
    with pytest.raises(ValidationError) as period:
        console_views.search_events(db, officer, console_views.ConsoleQuery(
            start=later, end=later - timedelta(days=1)))  # fmt: skip
    assert period.value.field == "end"
    with pytest.raises(AccessDenied):
        console_views.search_events(db, doctor, console_views.ConsoleQuery())


def test_a_history_sheet_names_the_patient_and_is_recorded_once(
    db: Database, world: World, patient: int, officer: Actor
) -> None:
    gateway.read_chart(db, as_actor(db, "dr.a"), patient)
    before = len(events(db))
    sheet = console_views.history_sheet(db, officer, patient)
    assert sheet.name == "Martin Alice" and sheet.establishments == ["Clinique A"]
    assert [(line.who, line.action) for line in sheet.lines] == [("dr.a", "chart.read")]
    added = events(db)[before:]
    assert [(e.action, e.patient_ids, sorted(e.categories)) for e in added] == [
        ("patient.access_history", [patient], ["audit", "identity"])
    ]
    with pytest.raises(AccessDenied):
        console_views.history_sheet(db, as_actor(db, "dr.a"), patient)
    with pytest.raises(NotFoundError):
        console_views.history_sheet(db, officer, patient + 1000)


def test_the_review_queue_names_the_accounts(
    db: Database, world: World, patient: int, officer: Actor
) -> None:
    gateway.break_glass(db, as_actor(db, "ide.a"), patient_id=patient, reason_code="emergency",
                        reason_text="Malaise en salle d'attente")  # fmt: skip
    (line,) = console_views.review_queue(db, officer)
    assert (line.username, line.patient_id, line.reason_code) == ("ide.a", patient, "emergency")
    assert events(db)[-1].action == "break_glass.pending"
