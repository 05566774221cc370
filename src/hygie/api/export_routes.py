"""Exports of patient lists at the API (:mod:`hygie.access.exports`): ask for one, see
mine and those awaiting my approval, approve or refuse (security officer, four eyes), and
download the file once."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter
from fastapi.responses import Response

from hygie.access import exports
from hygie.api import responses as r
from hygie.api.deps import Db, Reader, Writer, id_param
from hygie.api.openapi import errors
from hygie.api.write_schemas import ExportBody, ExportDecisionBody, ExportDownloadBody

router = APIRouter(prefix="/api/exports", tags=["exports"])

ExportId = Annotated[int, id_param("export")]


def _shown(line: exports.ExportLine) -> dict[str, Any]:
    return {
        k: v.isoformat() if isinstance(v, date | datetime) else v for k, v in asdict(line).items()
    }


@router.post("", response_model=r.ExportLine, status_code=201, responses=errors(403))
def request_export(body: ExportBody, caller: Writer, db: Db) -> dict[str, Any]:
    """Ask for an export of one establishment's patients. Small (at most
    HYGIE_EXPORT_BULK_THRESHOLD patients): ``ready`` to download. Bulk: ``pending`` until a
    security officer other than me approves it."""
    spec = exports.ExportSpec(
        establishment_id=body.establishment_id, basis=body.basis,
        categories=tuple(body.categories), purpose=body.purpose, start=body.start,
        end=body.end, practitioner_id=body.practitioner_id,
    )  # fmt: skip
    return _shown(exports.request_export(db, caller.actor, spec))


@router.get("", response_model=r.Exports, responses=errors())
def list_exports(caller: Reader, db: Db) -> dict[str, Any]:
    """My export requests, and the bulk ones awaiting my approval (security officer)."""
    return {"exports": [_shown(line) for line in exports.list_exports(db, caller.actor)]}


@router.post("/{export_id}/approve", response_model=r.ExportLine, responses=errors(403, 404, 409))
def approve(
    export_id: ExportId, body: ExportDecisionBody, caller: Writer, db: Db
) -> dict[str, Any]:
    """Approve a bulk export of my establishment asked by someone else (security
    officer): it can be downloaded once within HYGIE_EXPORT_VALID_HOURS."""
    line = exports.decide_export(db, caller.actor, export_id, approve=True, comment=body.comment)
    return _shown(line)


@router.post("/{export_id}/refuse", response_model=r.ExportLine, responses=errors(403, 404, 409))
def refuse(export_id: ExportId, body: ExportDecisionBody, caller: Writer, db: Db) -> dict[str, Any]:
    """Refuse a bulk export awaiting approval, with a reason (security officer)."""
    line = exports.decide_export(db, caller.actor, export_id, approve=False, comment=body.comment)
    return _shown(line)


@router.post(
    "/{export_id}/download",
    response_class=Response,
    responses={
        200: {
            "description": "The CSV file (text/csv), or for a bulk export the CSV encrypted "
            "with the passphrase (age format, application/octet-stream).",
            "content": {"text/csv": {}, "application/octet-stream": {}},
        },
        **errors(403, 404, 409),
    },
)
def download(export_id: ExportId, body: ExportDownloadBody, caller: Writer, db: Db) -> Response:
    """Download my export, once, while it is valid; a bulk export needs a passphrase (at
    least 12 characters) that encrypts the file."""
    made = exports.download_export(db, caller.actor, export_id, passphrase=body.passphrase)
    return Response(
        made.content, media_type=made.media_type,
        headers={"Content-Disposition": f'attachment; filename="{made.filename}"',
                 "Cache-Control": "no-store", "X-Hygie-Patients": str(made.patient_count)},
    )  # fmt: skip
