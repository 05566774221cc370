"""Patient data through the gate: search, chart, break-the-glass, access history.

Each route hands the caller's actor to :mod:`hygie.access.gateway` or
:mod:`hygie.access.history`, which decide, read, minimise and audit; a route only
translates the answer to JSON. (Write routes — create a patient, book, write a note,
prescribe — go in a module of their own beside this one, calling ``access.writes``.)
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, Response

from hygie.access import gateway, history
from hygie.api import responses as r
from hygie.api.deps import Db, PatientId, Reader, Writer
from hygie.api.openapi import errors
from hygie.api.schemas import BreakGlassRequest

router = APIRouter(prefix="/api/patients", tags=["patients"])


@router.get("", response_model=r.SearchResult, responses=errors(403))
def search(
    caller: Reader,
    db: Db,
    name: Annotated[str, Query(max_length=100)] = "",
    first_name: Annotated[str | None, Query(max_length=100)] = None,
    birth_date: date | None = None,
    limit: Annotated[int, Query(ge=1, le=gateway.MAX_RESULTS)] = 20,
) -> dict[str, Any]:
    """Identity summaries of the patients whose name starts with ``name`` (two letters at
    least), in my establishments: never clinical content nor full identifiers."""
    found = gateway.search_patients(
        db, caller.actor, name=name, first_name=first_name, birth_date=birth_date, limit=limit
    )
    return {
        "count": len(found),
        "patients": [
            {**asdict(p), "birth_date": p.birth_date.isoformat(),
             "establishment_ids": list(p.establishment_ids)}
            for p in found
        ],
    }  # fmt: skip


@router.get(
    "/{patient_id}", response_model=r.Chart, response_model_exclude_unset=True,
    responses=errors(403, 404),
)  # fmt: skip
def chart(patient_id: PatientId, caller: Reader, db: Db) -> dict[str, Any]:
    """One patient's chart: the blocks my roles and care relationship open; for the others,
    why they are withheld and whether break-the-glass would open them."""
    found = gateway.read_chart(db, caller.actor, patient_id)
    return {
        "patient_id": found.patient_id,
        "basis": found.basis,
        **found.blocks,
        "withheld": found.withheld,
        "break_glass_possible": found.break_glass_possible,
    }


@router.post(
    "/{patient_id}/break-glass", status_code=201, response_model=r.Grant,
    responses=errors(403, 404),
)  # fmt: skip
def break_glass(
    patient_id: PatientId, body: BreakGlassRequest, caller: Writer, db: Db
) -> dict[str, Any]:
    """Open this patient's clinical record without a care relationship, with a reason, for
    a limited time; a security officer will review it."""
    grant = gateway.break_glass(
        db, caller.actor, patient_id=patient_id, reason_code=body.reason_code,
        reason_text=body.reason_text,
    )  # fmt: skip
    return {
        "id": grant.id,
        "patient_id": grant.patient_id,
        "reason_code": grant.reason_code,
        "granted_at": grant.granted_at.isoformat(),
        "expires_at": grant.expires_at.isoformat(),
    }


@router.get(
    "/{patient_id}/access-history",
    responses={200: {"model": r.AccessHistory, "description": "Who accessed the record, when, how and why."},
               **errors(403, 404)},
)  # fmt: skip
def access_history(patient_id: PatientId, caller: Reader, db: Db) -> Response:
    """Who accessed this patient's record, when, how and why (security officer)."""
    lines = history.access_history(db, caller.actor, patient_id)
    return Response(history.history_json(patient_id, lines), media_type="application/json")


@router.get(
    "/{patient_id}/access-history.html", response_class=HTMLResponse, responses=errors(403, 404)
)
def access_history_page(patient_id: PatientId, caller: Reader, db: Db) -> HTMLResponse:
    """The same history as a printable page, for the patient."""
    lines = history.access_history(db, caller.actor, patient_id)
    return HTMLResponse(history.history_html(patient_id, lines))
