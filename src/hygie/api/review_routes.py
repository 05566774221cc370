"""The security officer's review of break-the-glass grants (:mod:`hygie.access.history`)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import APIRouter

from hygie.access import history
from hygie.api import responses as r
from hygie.api.deps import Db, GrantId, Reader, Writer
from hygie.api.openapi import errors
from hygie.api.schemas import ReviewRequest
from hygie.errors import HygieError

router = APIRouter(prefix="/api/break-glass", tags=["break-the-glass"])

# The gate names the review's fields after its parameters; the API after its JSON body.
_FIELDS = {"outcome": "verdict", "note": "comment"}


@contextmanager
def _api_field_names() -> Iterator[None]:
    try:
        yield
    except HygieError as exc:
        exc.field = _FIELDS.get(exc.field or "", exc.field)
        raise


@router.get("/pending", response_model=r.Pending, responses=errors(403))
def pending(caller: Reader, db: Db) -> dict[str, Any]:
    """Break-the-glass grants awaiting review in my establishments (security officer)."""
    grants = history.pending_reviews(db, caller.actor)
    return {
        "pending": [
            {"id": g.id, "user_id": g.user_id, "patient_id": g.patient_id,
             "establishment_id": g.establishment_id, "reason_code": g.reason_code,
             "reason_text": g.reason_text, "granted_at": g.granted_at.isoformat(),
             "expires_at": g.expires_at.isoformat()}
            for g in grants
        ]
    }  # fmt: skip


@router.post("/{grant_id}/review", response_model=r.Reviewed, responses=errors(403, 404, 409))
def review(grant_id: GrantId, body: ReviewRequest, caller: Writer, db: Db) -> dict[str, Any]:
    """Record my verdict (justified or unjustified) on one grant, with a comment."""
    with _api_field_names():
        grant = history.review_break_glass(
            db, caller.actor, grant_id=grant_id, outcome=body.verdict, note=body.comment
        )
    return {
        "id": grant.id,
        "verdict": grant.review_outcome,
        "comment": grant.review_note,
        "reviewed_at": grant.reviewed_at.isoformat() if grant.reviewed_at else None,
    }
