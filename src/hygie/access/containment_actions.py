"""What containment does once it has decided (``containment``): alerts stored with their
evidence and sent, refusals recorded, accounts locked with every session and token
revoked, and unlocked by a security officer with a reason."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from hygie.access import audit
from hygie.access.containment import Contained, Guard, Verdict
from hygie.access.detection import SEVERITY, Access, Finding, Response
from hygie.access.exposure import Exposure, Level
from hygie.access.scope import gate_transaction
from hygie.models import AuditEvent, SecurityAlert, User

if TYPE_CHECKING:
    from hygie.db import Database
    from hygie.notify import AlertMessage

EVIDENCE_EVENTS = 50  # the account's latest events named in an alert's evidence


def alert_on_allowed(
    session: Session, guard: Guard, verdict: Verdict, access: Access, event_id: int
) -> None:
    """Store (in the access's transaction) and, once it commits, send the alert an allowed
    access raised, unless the same one was raised lately."""
    findings = [
        f for f in verdict.findings
        if f.response >= Response.ALERT and guard.should_alert(access.user_id, f, access.at)
    ]  # fmt: skip
    if not findings:
        return
    alert = _alert(session, access, findings, verdict.response, verdict.exposure, event_id)
    message = _message(alert)
    event.listen(session, "after_commit", lambda _s: guard.notify(message), once=True)


def enforce(db: Database, guard: Guard, refused: Contained) -> None:
    """Record the refusal, store its alert and, to contain, lock the account and revoke its
    sessions and tokens; then mark it locked on the shared board and send the alert."""
    access, response = refused.access, refused.response
    contain = response == Response.CONTAIN
    with gate_transaction(db, frozenset()) as session:  # no patient row is needed
        refusal = audit.record(
            session,
            audit.Entry(
                action=access.action, outcome="contained" if contain else "denied",
                how=access.how, user_id=access.user_id, username=access.username,
                role=",".join(sorted(access.roles)) or None,
                establishment_id=access.establishment_id, session_id=access.session_id,
                token_id=access.token_id, ip=access.ip, user_agent=access.user_agent,
                level=access.level, patient_ids=access.patient_ids, purpose=access.purpose,
                reason=refused.message[:500],
                details={
                    "response": response.label,
                    "findings": [f.figures() for f in refused.findings],
                    "withheld": len(access.patient_ids),
                },
            ),
            now=access.at,
            guarded=False,
        )  # fmt: skip
        if refused.already_locked:
            return
        alert = _alert(session, access, refused.findings, response, {}, refusal.id)
        if contain:
            lock_account(session, access=access, alert=alert)
        message = _message(alert)
    if contain:
        guard.board.lock(access.user_id)
    guard.notify(message)


def lock_account(session: Session, *, access: Access, alert: SecurityAlert) -> None:
    """Lock the account and revoke every session and token it has, in ``session``."""
    from hygie.auth.sessions import revoke_user_sessions
    from hygie.auth.tokens import revoke_user_tokens

    user = session.get(User, access.user_id)
    if user is None:
        return
    reason = f"contained by the access monitor (alert #{alert.id}: {alert.rule})"
    user.locked_at = access.at
    user.locked_reason = reason[:500]
    session.flush()
    audit.record(
        session,
        audit.Entry(
            action="account.lock", outcome="allowed", how="system", user_id=user.id,
            username=user.username, reason=reason, details={"alert_id": alert.id},
        ),
        now=access.at,
        guarded=False,
    )  # fmt: skip
    revoke_user_sessions(session, user=user, reason=reason, now=access.at, how="system")
    revoke_user_tokens(session, user=user, now=access.at, how="system", reason=reason)


def _alert(
    session: Session,
    access: Access,
    findings: list[Finding],
    response: Response,
    exposure: Mapping[Level, Exposure],
    event_id: int,
) -> SecurityAlert:
    strongest = max(findings, key=lambda f: f.response) if findings else None
    rule = strongest.signal if strongest else "account.locked"
    recent = list(
        session.scalars(
            select(AuditEvent.id)
            .where(AuditEvent.user_id == access.user_id)
            .order_by(AuditEvent.id.desc())
            .limit(EVIDENCE_EVENTS)
        )
    )
    evidence: dict[str, Any] = {
        "findings": [{**f.figures(), "message": f.message} for f in findings],
        "exposure": {
            lv.value: {**seen.windows, "ever": seen.ever} for lv, seen in exposure.items()
        },
        "event_id": event_id,
        "recent_events": sorted({event_id, *recent}),
        "access": {
            "action": access.action, "how": access.how, "ip": access.ip,
            "session_id": access.session_id, "token_id": access.token_id,
            "patients": len(access.patient_ids),
        },
    }  # fmt: skip
    who = access.username or f"#{access.user_id}"
    what = strongest.message if strongest else "access by a locked account"
    alert = SecurityAlert(
        at=access.at, user_id=access.user_id, username=access.username,
        establishment_id=access.establishment_id, rule=rule,
        severity=SEVERITY.get(response, "info") if response else "info",
        response=response.label, summary=f"{who}: {what}"[:500],
        evidence=audit.normalised_details(evidence), status="open",
    )  # fmt: skip
    session.add(alert)
    session.flush()
    return alert


def _message(alert: SecurityAlert) -> AlertMessage:
    from hygie.notify import AlertMessage

    return AlertMessage(
        alert_id=alert.id, at=alert.at, severity=alert.severity, rule=alert.rule,
        username=alert.username, user_id=alert.user_id,
        establishment_id=alert.establishment_id, response=alert.response,
        summary=alert.summary, evidence=dict(alert.evidence),
    )  # fmt: skip
