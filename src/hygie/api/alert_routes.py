"""Containment at the API: a session's step-up, and the security officer's alerts and
unlocking of a locked account (:mod:`hygie.access.alerts`)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from hygie.access import alerts, norms
from hygie.api import responses as r
from hygie.api.deps import HOW, Db, From, Now, Reader, SessionWriter, Writer, id_param
from hygie.api.openapi import errors
from hygie.api.schemas import Conclusion, NormRequest, StepUp, Unlock
from hygie.auth import self_service

router = APIRouter(prefix="/api", tags=["containment"])

AlertId = Annotated[int, id_param("alert")]
Username = Annotated[str, Path(min_length=1, max_length=64, description="the account's name")]


@router.post("/session/step-up", response_model=r.SteppedUp, responses=errors(401, 404))
def step_up(body: StepUp, caller: SessionWriter, db: Db, at: Now, origin: From) -> dict[str, Any]:
    """Confirm a fresh TOTP code when containment asks for one (401 with
    ``containment: step_up``); the request can then be sent again."""
    done = self_service.step_up(db, caller, totp_code=body.totp, client=origin, now=at, how=HOW)
    return {"mfa_at": done.isoformat()}


@router.get("/alerts", response_model=r.Alerts, responses=errors(403))
def list_alerts(
    caller: Reader,
    db: Db,
    status: Annotated[str | None, Query(max_length=10, description="open or closed")] = "open",
) -> dict[str, Any]:
    """Alerts about the accounts of my establishments, newest first, with their evidence
    (security officer)."""
    found = alerts.list_alerts(db, caller.actor, status=status)
    return {
        "alerts": [
            {"id": a.id, "at": a.at.isoformat(), "username": a.username, "user_id": a.user_id,
             "establishment_id": a.establishment_id, "rule": a.rule, "severity": a.severity,
             "response": a.response, "summary": a.summary, "status": a.status,
             "locked": a.locked, "evidence": a.evidence}
            for a in found
        ]
    }  # fmt: skip


@router.post(
    "/alerts/{alert_id}/close", response_model=r.AlertClosed, responses=errors(403, 404, 409)
)
def close_alert(alert_id: AlertId, body: Conclusion, caller: Writer, db: Db) -> dict[str, Any]:
    """Close an alert with my conclusion (security officer)."""
    alert = alerts.close_alert(db, caller.actor, alert_id=alert_id, comment=body.comment)
    return {"id": alert.id, "status": alert.status, "comment": alert.review_comment}


@router.post(
    "/accounts/{username}/unlock", response_model=r.Unlocked, responses=errors(403, 404, 409)
)
def unlock(username: Username, body: Unlock, caller: Writer, db: Db) -> dict[str, Any]:
    """Lift containment's lock on an account of my establishments, with a reason
    (security officer). Its sessions and tokens stay revoked: its owner signs in again."""
    user = alerts.unlock_account(db, caller.actor, username=username, reason=body.reason)
    return {"username": user.username, "locked": user.locked_at is not None}


@router.get("/detection/norms", response_model=r.Norms, responses=errors(403))
def detection_norms(caller: Reader, db: Db) -> dict[str, Any]:
    """The detector's norms in force: defaults, learned, set by an officer (security
    officer)."""
    lines = norms.norms_in_force(db, caller.actor)
    return {"norms": [asdict(n) for n in lines]}


@router.put("/detection/norms", response_model=r.NormSet, responses=errors(403))
def set_detection_norm(body: NormRequest, caller: Writer, db: Db) -> dict[str, Any]:
    """Set one of the detector's norms, with a reason (security officer); learning never
    overwrites it."""
    line = norms.set_norm(
        db, caller.actor, role=body.role, establishment_id=body.establishment_id,
        signal=body.signal, threshold=body.threshold, reason=body.reason,
    )  # fmt: skip
    return asdict(line)
