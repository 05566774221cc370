"""The security officer's side of containment: the alerts with their evidence, closing
them, and unlocking an account that containment locked (with a reason, in the trail).

An officer sees the alerts about accounts habilitated in the establishments where they
hold the role, and unlocks only such accounts; reading the alerts is an access like any
other, in the trail."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select

from hygie.access import audit, containment
from hygie.access.actor import Actor
from hygie.access.gateway import AccessDenied, audit_entry, record_refusal
from hygie.access.history import _may_audit
from hygie.access.scope import gate_transaction
from hygie.db import Database
from hygie.errors import ConflictError, NotFoundError, ValidationError
from hygie.kit import clock
from hygie.kit.text import clean_text
from hygie.models import Habilitation, SecurityAlert, User
from hygie.storage import staff as staff_store

STATUSES = ("open", "closed")
MIN_REASON = 10  # characters of a reason to unlock or close


@dataclass(frozen=True)
class AlertLine:
    id: int
    at: datetime
    username: str | None
    user_id: int | None
    establishment_id: int | None
    rule: str
    severity: str
    response: str
    summary: str
    status: str
    evidence: dict[str, Any]
    locked: bool


def _officer_scope(actor: Actor, action: str) -> frozenset[int]:
    """Where the actor may ``action`` the audit category (security officer)."""
    return frozenset(e for e in actor.establishments if _may_audit(actor, frozenset({e}), action))


def _refuse(db: Database, actor: Actor, action: str, message: str) -> AccessDenied:
    record_refusal(db, actor, action=action, patient_ids=[], categories=["audit"],
                   reason="not a security officer")  # fmt: skip
    return AccessDenied(message)


def list_alerts(
    db: Database, actor: Actor, *, status: str | None = "open", limit: int = 100
) -> list[AlertLine]:
    """The alerts about accounts of the officer's establishments, newest first."""
    if status is not None and status not in STATUSES:
        raise ValidationError(f"one of {', '.join(STATUSES)}", field="status")
    where = _officer_scope(actor, "read")
    if not where:
        raise _refuse(db, actor, "alerts.list", "only a security officer reads the alerts")
    limit = max(1, min(int(limit), 500))
    with gate_transaction(db, frozenset()) as session:
        accounts = select(Habilitation.user_id).where(Habilitation.establishment_id.in_(where))
        query = select(SecurityAlert, User.locked_at).outerjoin(
            User, User.id == SecurityAlert.user_id
        ).where(
            or_(SecurityAlert.establishment_id.in_(where), SecurityAlert.user_id.in_(accounts))
        )  # fmt: skip
        if status is not None:
            query = query.where(SecurityAlert.status == status)
        rows = session.execute(query.order_by(SecurityAlert.id.desc()).limit(limit)).all()
        found = [
            AlertLine(
                id=a.id, at=a.at, username=a.username, user_id=a.user_id,
                establishment_id=a.establishment_id, rule=a.rule, severity=a.severity,
                response=a.response, summary=a.summary, status=a.status,
                evidence=dict(a.evidence), locked=locked_at is not None,
            )
            for a, locked_at in rows
        ]  # fmt: skip
        audit.record(
            session,
            audit_entry(actor, scope=where, action="alerts.list", outcome="allowed",
                        categories=["audit"], record_count=len(found),
                        details={"status": status, "alerts": [a.id for a in found]}),
        )  # fmt: skip
    return found


def close_alert(
    db: Database, actor: Actor, *, alert_id: int, comment: str, now: datetime | None = None
) -> SecurityAlert:
    """Close one alert with the officer's conclusion."""
    now = now or clock.now()
    text = _reason(comment, "comment")
    where = _officer_scope(actor, "write")
    if not where:
        raise _refuse(db, actor, "alert.close", "only a security officer closes alerts")
    with gate_transaction(db, frozenset()) as session:
        alert = session.get(SecurityAlert, alert_id, with_for_update=True)
        if alert is None or not _concerns(session, alert, where):
            raise NotFoundError(f"alert #{alert_id} does not exist", field="alert_id")
        if alert.status == "closed":
            raise ConflictError("this alert is closed already", field="alert_id")
        alert.status, alert.reviewed_at = "closed", now
        alert.reviewed_by, alert.review_comment = actor.username, text
        audit.record(
            session,
            audit_entry(actor, scope=where, action="alert.close", outcome="allowed",
                        categories=["audit"], reason=text,
                        details={"alert_id": alert.id, "account": alert.username}),
            now=now,
        )  # fmt: skip
    return alert


def unlock_account(
    db: Database, actor: Actor, *, username: str, reason: str, now: datetime | None = None
) -> User:
    """Lift containment's lock on one account of the officer's establishments. Its sessions
    and tokens stay revoked: its owner signs in again (password and second factor)."""
    now = now or clock.now()
    text = _reason(reason, "reason")
    where = _officer_scope(actor, "write")
    if not where:
        raise _refuse(db, actor, "account.unlock", "only a security officer unlocks an account")
    name = username.strip().lower() if isinstance(username, str) else ""
    with gate_transaction(db, frozenset()) as session:
        user = staff_store.user_by_username(session, name)
        habilitated = user is not None and bool(
            session.scalars(
                select(Habilitation.id).where(
                    Habilitation.user_id == user.id, Habilitation.establishment_id.in_(where)
                )
            ).first()
        )
        if user is None or not habilitated:
            raise NotFoundError(f"no account named {name} in your establishments", field="username")
        if user.id == actor.user_id:
            raise ConflictError("nobody unlocks their own account", field="username")
        if user.locked_at is None:
            raise ConflictError(f"account {name} is not locked", field="username")
        was = user.locked_reason
        user.locked_at, user.locked_reason = None, None
        audit.record(
            session,
            audit_entry(actor, scope=where, action="account.unlock", outcome="allowed",
                        categories=["accounts"], reason=text,
                        details={"account": user.username, "account_id": user.id, "was": was}),
            now=now,
        )  # fmt: skip
    containment.guard_for(db.engine).release(user.id)
    return user


def _concerns(session: Any, alert: SecurityAlert, where: frozenset[int]) -> bool:
    if alert.establishment_id in where:
        return True
    if alert.user_id is None:
        return False
    return (
        session.scalars(
            select(Habilitation.id).where(
                Habilitation.user_id == alert.user_id, Habilitation.establishment_id.in_(where)
            )
        ).first()
        is not None
    )


def _reason(value: Any, field: str) -> str:
    text = clean_text(value, field=field, max_length=500)
    if len(text) < MIN_REASON:
        raise ValidationError(f"explain in at least {MIN_REASON} characters", field=field)
    return text
