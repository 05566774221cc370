"""What an account holder sees of their own trail: their recent accesses, so that
someone whose account is used behind their back can notice it (searches at night, from an
unknown address, hundreds of records).

Least data: the holder sees what was done, when, how, from where, with what outcome and
how many records, never which patients (a stolen session must not turn this page into a
list of patients). Reading it is recorded (``self.activity``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from hygie.access import audit
from hygie.access.actor import Actor
from hygie.access.gateway import audit_entry
from hygie.access.scope import gate_transaction
from hygie.db import Database
from hygie.storage import own_trail as store

MAX_EVENTS = 200


@dataclass(frozen=True)
class OwnEvent:
    at: datetime
    action: str
    outcome: str
    how: str
    ip: str | None
    user_agent: str | None
    patients: int  # how many patients the access concerned, not who
    record_count: int
    reason: str | None


def recent_accesses(db: Database, actor: Actor, *, count: int = 50) -> list[OwnEvent]:
    """The actor's own latest events, newest first (at most MAX_EVENTS)."""
    count = max(1, min(int(count), MAX_EVENTS))
    with gate_transaction(db, actor.establishments) as session:
        events = [
            OwnEvent(
                at=e.at, action=e.action, outcome=e.outcome, how=e.how, ip=e.ip,
                user_agent=e.user_agent, patients=len(e.patient_ids or []),
                record_count=e.record_count, reason=e.reason,
            )
            for e in store.recent_events(session, actor.user_id, limit=count)
        ]  # fmt: skip
        audit.record(
            session,
            audit_entry(actor, action="self.activity", outcome="allowed", categories=[],
                        record_count=len(events), details={"count": count}),
        )  # fmt: skip
    return events
