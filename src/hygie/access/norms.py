"""The detector's norms: learned from the trail, shown, and set by a security officer.

Learning replays a period of the trail through the same exposure meter the gate counts
with, on the events' own times: for each role, the most distinct patients one account of
it received in each window, by level. A norm is that, with a margin, never under a floor
(a quiet month must not make an ordinary busy morning look like a harvest). An officer's
own setting is never overwritten by learning; every change is in the trail."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from hygie.access import audit
from hygie.access.actor import Actor
from hygie.access.detection import DEFAULT_NORMS, EXPORT_ACTION
from hygie.access.exposure import WINDOWS, Level, LocalExposure
from hygie.access.gateway import AccessDenied, audit_entry, record_refusal
from hygie.access.history import _may_audit
from hygie.access.scope import gate_transaction
from hygie.db import Database
from hygie.errors import ValidationError
from hygie.kit import clock
from hygie.kit.text import clean_text
from hygie.models import AuditEvent, DetectionNorm, Role

MARGIN = 1.5
# The lowest a learned norm goes, per signal.
FLOORS = {
    "records.1m": 5, "records.10m": 12, "records.1h": 25, "records.1d": 50,
    "summaries.1m": 80, "summaries.10m": 200, "summaries.1h": 400, "summaries.1d": 800,
    "export.1d": 50,
}  # fmt: skip
BATCH = 5000
HUMAN_ROLES = frozenset(r.value for r in Role) - {Role.INTERFACE.value}


@dataclass(frozen=True)
class NormLine:
    role: str | None
    establishment_id: int | None
    signal: str
    threshold: float
    source: str  # default | learned | officer
    updated_by: str | None = None
    reason: str | None = None


def learn(
    db: Database, *, since: datetime, until: datetime, updated_by: str, margin: float = MARGIN
) -> dict[tuple[str, str], float]:
    """Learn the volume norms of every role from the trail of ``[since, until)``; written
    as learned norms (an officer's are kept). ``(role, signal) -> threshold``."""
    if since.tzinfo is None or until.tzinfo is None or since >= until:
        raise ValidationError("a period with time zones, start before end", field="since")
    peaks: dict[tuple[str, str], int] = defaultdict(int)
    meter = LocalExposure()
    for at, user_id, roles, level, patients, export in _events(db, since, until):
        if export is not None:  # a file at once: its own level and norm, as the guard counts
            if export == "small":
                seen = meter.observe(account=user_id, level=Level.EXPORT, patients=patients, at=at)
                for role in roles:
                    peaks[(role, "export.1d")] = max(peaks[(role, "export.1d")], seen.within("1d"))
            continue
        seen = meter.observe(account=user_id, level=Level(level), patients=patients, at=at)
        kind = "records" if level == Level.RECORD else "summaries"
        for role in roles:
            for window in WINDOWS:
                key = (role, f"{kind}.{window}")
                peaks[key] = max(peaks[key], seen.within(window))
    learned = {
        key: float(max(FLOORS[key[1]], math.ceil(peak * margin))) for key, peak in peaks.items()
    }
    now = clock.now()
    with gate_transaction(db, frozenset()) as session:
        kept = {
            (n.role, n.signal): n
            for n in session.scalars(select(DetectionNorm).where(DetectionNorm.establishment_id.is_(None)))
        }  # fmt: skip
        for (role, signal), threshold in learned.items():
            row = kept.get((role, signal))
            if row is not None and row.source == "officer":
                continue
            if row is None:
                row = DetectionNorm(role=role, establishment_id=None, signal=signal)
                session.add(row)
            row.threshold, row.source, row.updated_at = threshold, "learned", now
            row.updated_by, row.reason = (
                updated_by,
                f"learned from {since:%Y-%m-%d} to {until:%Y-%m-%d}",
            )
        audit.record(
            session,
            audit.Entry(
                action="detection.learn", outcome="allowed", how="cli", username=None,
                purpose="maintenance", categories=["audit"], record_count=len(learned),
                details={"operator": updated_by, "since": since.isoformat(),
                         "until": until.isoformat(), "norms": len(learned)},
            ),
            now=now,
        )  # fmt: skip
    return learned


def _events(
    db: Database, since: datetime, until: datetime
) -> Iterator[tuple[datetime, int, list[str], str, list[int], str | None]]:
    """Allowed deliveries of human roles' accounts, in order, in batches; the last item
    says whether it is an export ("small", or "vouched": a bulk one approved) or not."""
    last = 0
    while True:
        with gate_transaction(db, frozenset()) as session:
            rows = session.execute(
                select(AuditEvent.id, AuditEvent.at, AuditEvent.user_id, AuditEvent.role,
                       AuditEvent.level, AuditEvent.patient_ids, AuditEvent.action,
                       AuditEvent.details)
                .where(AuditEvent.id > last, AuditEvent.at >= since, AuditEvent.at < until,
                       AuditEvent.outcome == "allowed", AuditEvent.level.is_not(None),
                       AuditEvent.user_id.is_not(None))
                .order_by(AuditEvent.id).limit(BATCH)
            ).all()  # fmt: skip
        if not rows:
            return
        for event_id, at, user_id, role, level, patients, action, details in rows:
            last = event_id
            roles = [r for r in (role or "").split(",") if r in HUMAN_ROLES]
            if roles and patients and user_id is not None and level is not None:
                yield at, user_id, roles, level, list(patients), _export_kind(action, details)


def _export_kind(action: str, details: dict[str, Any] | None) -> str | None:
    if action != EXPORT_ACTION:
        return None
    said = details or {}
    return "vouched" if said.get("bulk") and said.get("approved_by_id") else "small"


def overrides(conn: Connection | Session) -> dict[tuple[str | None, int | None, str], float]:
    """The learned and set norms, as the detector's ``Norms`` take them (no patient row)."""
    return {
        (role, establishment, signal): float(threshold)
        for role, establishment, signal, threshold in conn.execute(
            select(DetectionNorm.role, DetectionNorm.establishment_id, DetectionNorm.signal,
                   DetectionNorm.threshold)
        )
    }  # fmt: skip


def norms_in_force(db: Database, actor: Actor | None = None) -> list[NormLine]:
    """Every norm: the defaults, and the learned or set ones that replace them. With an
    ``actor``, only for a security officer, and the reading is recorded."""
    if actor is not None:
        where = frozenset(e for e in actor.establishments if _may_audit(actor, frozenset({e})))
        if not where:
            record_refusal(db, actor, action="detection.norms", patient_ids=[],
                           categories=["audit"], reason="not a security officer")  # fmt: skip
            raise AccessDenied("only a security officer reads the detector's norms")
        with gate_transaction(db, frozenset()) as session:
            audit.record(session, audit_entry(actor, scope=where, action="detection.norms",
                                              outcome="allowed", categories=["audit"]))  # fmt: skip
    with gate_transaction(db, frozenset()) as session:
        rows = list(
            session.scalars(
                select(DetectionNorm).order_by(DetectionNorm.signal, DetectionNorm.role)
            )
        )
    lines = [
        NormLine(None if role == "*" else role, None, signal, float(value), "default")
        for signal, per_role in DEFAULT_NORMS.items()
        for role, value in per_role.items()
    ]
    lines += [
        NormLine(
            r.role, r.establishment_id, r.signal, r.threshold, r.source, r.updated_by, r.reason
        )
        for r in rows
    ]
    return lines


def set_norm(
    db: Database,
    actor: Actor,
    *,
    role: str | None,
    establishment_id: int | None,
    signal: str,
    threshold: float,
    reason: str,
) -> NormLine:
    """A security officer's norm (in their establishments, or group-wide if they are
    officer in every establishment of the actor), recorded with its reason."""
    if signal not in DEFAULT_NORMS:
        raise ValidationError(f"one of {', '.join(DEFAULT_NORMS)}", field="signal")
    if role is not None and role not in HUMAN_ROLES | {Role.INTERFACE.value}:
        raise ValidationError("not a role", field="role")
    if (
        isinstance(threshold, bool)
        or not isinstance(threshold, int | float)
        or not 0 <= threshold <= 10**9
    ):
        raise ValidationError("a number from 0 to 1,000,000,000", field="threshold")
    text = clean_text(reason, field="reason", max_length=500)
    if len(text) < 10:
        raise ValidationError("explain in at least 10 characters", field="reason")
    where = frozenset({establishment_id}) if establishment_id is not None else actor.establishments
    if not where or not all(_may_audit(actor, frozenset({e}), "write") for e in where):
        record_refusal(db, actor, action="detection.norm", patient_ids=[], categories=["audit"],
                       reason="not a security officer there")  # fmt: skip
        raise AccessDenied("only a security officer sets the detector's norms")
    with gate_transaction(db, frozenset()) as session:
        row = session.scalars(
            select(DetectionNorm).where(
                DetectionNorm.role.is_(None) if role is None else DetectionNorm.role == role,
                DetectionNorm.establishment_id.is_(None) if establishment_id is None
                else DetectionNorm.establishment_id == establishment_id,
                DetectionNorm.signal == signal,
            )
        ).first()  # fmt: skip
        if row is None:
            row = DetectionNorm(role=role, establishment_id=establishment_id, signal=signal)
            session.add(row)
        before = row.threshold
        row.threshold, row.source, row.updated_at = float(threshold), "officer", clock.now()
        row.updated_by, row.reason = actor.username, text
        audit.record(
            session,
            audit_entry(actor, scope=where, action="detection.norm", outcome="allowed",
                        categories=["audit"], reason=text,
                        details={"role": role, "establishment_id": establishment_id,
                                 "signal": signal, "threshold": float(threshold), "before": before}),
        )  # fmt: skip
    from hygie.access import containment

    containment.guard_for(db.engine).reload()
    return NormLine(
        role, establishment_id, signal, float(threshold), "officer", actor.username, text
    )
