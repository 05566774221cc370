"""An account holder's own recent accesses: theirs only, newest first, how many patients
each concerned but never which, and reading them is recorded."""

from __future__ import annotations

from hygie.access import gateway, own_trail
from hygie.access.actor import Actor, load_actor
from hygie.db import Database
from tests.access.test_gateway import events
from tests.factories import World


def actor(db: Database, username: str) -> Actor:
    with db.sessions() as session:
        return load_actor(session, username=username, how="web", ip="10.0.0.8")


def test_my_accesses_are_mine_counted_not_named_and_recorded(
    db: Database, world: World, patient: int
) -> None:
    doctor, nurse = actor(db, "dr.a"), actor(db, "ide.a")
    gateway.search_patients(db, doctor, name="Mart")
    gateway.read_chart(db, doctor, patient)
    gateway.search_patients(db, nurse, name="Mart")

    mine = own_trail.recent_accesses(db, doctor)
    assert [e.action for e in mine] == ["chart.read", "patient.search"]
    assert mine[0].patients == 1 and mine[0].ip == "10.0.0.8"
    assert not any(hasattr(e, "patient_ids") for e in mine)
    read = [e for e in events(db) if e.action == "self.activity"]
    assert len(read) == 1 and read[0].username == "dr.a" and read[0].patient_ids == []
    # The next look shows the previous one first.
    assert own_trail.recent_accesses(db, doctor, count=1)[0].action == "self.activity"
