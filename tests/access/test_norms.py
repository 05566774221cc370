"""The detector's norms: learned from the trail with the same meter the gate counts with,
set by a security officer with a reason (never overwritten by learning), read by officers."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from hygie.access import gateway, norms
from hygie.access.actor import Actor, load_actor
from hygie.access.gateway import AccessDenied
from hygie.db import Database
from hygie.errors import ValidationError
from hygie.kit import clock
from hygie.models import AuditEvent, DetectionNorm
from hygie.patients import service as patients
from hygie.staff import service as staff
from tests.factories import DAY0, World

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def actor(db: Database, username: str) -> Actor:
    with db.sessions() as s:
        return load_actor(
            s, username=username, how="web", ip="10.0.0.1", user_agent="pytest", now=T0
        )


@pytest.fixture
def officer(db: Database, world: World) -> Actor:
    with db.transaction() as s:
        user = staff.create_user(s, username="rssi.a", display_name="RSSI")
        staff.grant_habilitation(s, user_id=user.id, establishment_id=world.est_a,
                                 role="security_officer", valid_from=DAY0)  # fmt: skip
    return actor(db, "rssi.a")


def test_norms_are_learned_from_the_busiest_account_of_each_role(
    db: Database, world: World
) -> None:
    with db.transaction() as s:
        ids = [
            patients.create_patient(
                s, establishment_id=world.est_a, birth_name="Martin", birth_first_names=[f"Jean{chr(65 + i // 26)}{chr(97 + i % 26)}"],
                sex="male", birth_date=date(1960 + i, 1, 1),
            ).patient.id
            for i in range(40)
        ]  # fmt: skip
    secretary = actor(db, "sec.a")
    now = [T0]
    with clock.virtual(lambda: now[0]):
        for n, patient in enumerate(reversed(ids)):  # two minutes apart, not a sweep up the ids
            now[0] = T0 + timedelta(minutes=2 * n)
            gateway.read_chart(db, secretary, patient)
    learned = norms.learn(db, since=T0, until=T0 + timedelta(days=1), updated_by="ops")
    assert learned[("secretary", "records.1d")] == 60  # 40 at most, times 1.5
    assert learned[("secretary", "records.1h")] == 45  # 30 within an hour
    assert learned[("secretary", "records.1m")] == 5  # one a minute: the floor
    with db.sessions() as s:
        row = s.scalars(select(DetectionNorm).where(DetectionNorm.signal == "records.1d")).one()
    assert (row.role, row.source, row.threshold) == ("secretary", "learned", 60)


def test_an_officers_norm_is_kept_and_recorded(db: Database, world: World, officer: Actor) -> None:
    line = norms.set_norm(db, officer, role="billing_officer", establishment_id=None,
                          signal="records.1d", threshold=400, reason="clôture mensuelle du service")  # fmt: skip
    assert line.source == "officer"
    norms.learn(db, since=T0, until=T0 + timedelta(days=1), updated_by="ops")
    shown = {(n.role, n.signal, n.source): n.threshold for n in norms.norms_in_force(db, officer)}
    assert shown[("billing_officer", "records.1d", "officer")] == 400
    assert shown[("billing_officer", "records.1d", "default")] == 250
    with db.sessions() as s:
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "detection.norm")).one()
    assert event.username == "rssi.a" and event.details["threshold"] == 400


def test_only_an_officer_sets_or_reads_norms_and_bad_values_are_refused(
    db: Database, world: World, officer: Actor
) -> None:
    with pytest.raises(AccessDenied):
        norms.set_norm(db, actor(db, "dr.a"), role=None, establishment_id=None,
                       signal="records.1m", threshold=1000, reason="je lis beaucoup de dossiers")  # fmt: skip
    with pytest.raises(AccessDenied):
        norms.norms_in_force(db, actor(db, "it.admin"))
    for bad in ({"signal": "records.2m"}, {"threshold": -1}, {"reason": "court"}, {"role": "king"}):
        values = {"role": None, "establishment_id": None, "signal": "records.1m", "threshold": 9,
                  "reason": "une raison suffisante", **bad}  # fmt: skip
        with pytest.raises(ValidationError):
            norms.set_norm(db, officer, **values)  # type: ignore[arg-type]
    with db.sessions() as s:
        assert s.scalars(select(DetectionNorm)).first() is None
