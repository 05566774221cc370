"""An account's activity as the trail tells it: distinct patients received per hour, by
level, against the detector's hourly norms for its roles, and when containment stopped
it. What ``hygie simulate --plot`` draws, and the security console's timeline.

Reading the trail here names no patient: only counts leave this module."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from hygie.access.detection import Norms
from hygie.access.norms import overrides
from hygie.access.scope import gate_transaction
from hygie.db import Database
from hygie.errors import ValidationError
from hygie.models import AuditEvent, User

HOUR = timedelta(hours=1)
MAX_HOURS = 24 * 92


@dataclass(frozen=True)
class Activity:
    user_id: int
    username: str
    roles: frozenset[str]
    start: datetime  # the first hour, on the hour, UTC
    records: list[int]  # distinct patients whose record was received, hour by hour
    summaries: list[int]  # distinct patients seen in lists, hour by hour
    record_norm: float  # records.1h for the account's roles
    summary_norm: float  # summaries.1h
    contained_at: datetime | None  # the first refusal by containment that locked it

    @property
    def hours(self) -> list[datetime]:
        return [self.start + n * HOUR for n in range(len(self.records))]


def _floor_hour(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def hourly(db: Database, *, user_id: int, since: datetime, until: datetime) -> Activity:
    """The account's activity from ``since`` to ``until`` (hours that hold them)."""
    if since.tzinfo is None or until.tzinfo is None or since >= until:
        raise ValidationError("a period with time zones, start before end", field="since")
    start = _floor_hour(since)
    count = int((until - start) / HOUR) + (0 if until == _floor_hour(until) else 1)
    if count > MAX_HOURS:
        raise ValidationError(f"at most {MAX_HOURS // 24} days", field="until")
    seen: dict[str, list[set[int]]] = {"record": [set() for _ in range(count)],
                                        "summary": [set() for _ in range(count)]}  # fmt: skip
    roles: set[str] = set()
    contained_at = None
    with gate_transaction(db, frozenset()) as session:
        user = session.get(User, user_id)
        if user is None:
            raise ValidationError(f"no account #{user_id}", field="account")
        rows = session.execute(
            select(AuditEvent.at, AuditEvent.outcome, AuditEvent.level, AuditEvent.patient_ids,
                   AuditEvent.role)
            .where(AuditEvent.user_id == user_id, AuditEvent.at >= since, AuditEvent.at < until)
            .order_by(AuditEvent.id)
        )  # fmt: skip
        for at, outcome, level, patients, role in rows:
            if outcome == "contained" and contained_at is None:
                contained_at = at
            if outcome != "allowed" or level not in seen or not patients:
                continue
            roles |= {r for r in (role or "").split(",") if r}
            seen[level][int((at - start) / HOUR)] |= set(patients)
        norms = Norms(overrides(session))
        username = user.username
    return Activity(
        user_id=user_id, username=username, roles=frozenset(roles), start=start,
        records=[len(s) for s in seen["record"]], summaries=[len(s) for s in seen["summary"]],
        record_norm=norms.limit("records.1h", roles, None),
        summary_norm=norms.limit("summaries.1h", roles, None), contained_at=contained_at,
    )  # fmt: skip
