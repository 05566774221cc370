"""``GET /fhir/Patient/{id}/$everything``: the Patient and every resource of their record
the caller may see, from ONE audited chart read (``fhir.patient.everything``) of the
blocks Hygie has a FHIR resource for (clinical notes have none, so they are not read).

Blocks the gate withholds are left out, and an OperationOutcome entry (search mode
``outcome``) says which and why; when break-the-glass would open them, it says how. With
the break-the-glass headers, the withheld clinical blocks are opened: the trail then shows
the first read, the grant and the second read. Paged like a search (``_count``,
``_offset``), Patient first.

The operation is declared in the Patient entry of the CapabilityStatement (patient.SPEC);
this module adds no resource type of its own."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from hygie.access import directory, gateway
from hygie.access.gateway import Chart
from hygie.access.policy import Category
from hygie.api.deps import Db
from hygie.fhir import allergy, appointment, condition, coverage, encounter, medication
from hygie.fhir.bundle import Page, searchset
from hygie.fhir.deps import BREAK_GLASS_REASON, BREAK_GLASS_TEXT, Glass, Reader
from hygie.fhir.outcome import operation_outcome
from hygie.fhir.params import check_known, parse_id
from hygie.fhir.patient import patient_resource
from hygie.fhir.wire import fhir_response

ACTION = "fhir.patient.everything"
# The chart's blocks that have a FHIR resource here (and the identity, required).
BLOCKS = frozenset({
    Category.IDENTITY, Category.CONTACT, Category.COVERAGE, Category.APPOINTMENTS,
    Category.STAYS, Category.ALLERGIES, Category.CONDITIONS, Category.PRESCRIPTIONS,
})  # fmt: skip
# Block name -> the mapper of its items.
MAPPERS = {
    "appointments": appointment.to_resource,
    "stays": encounter.to_resource,
    "allergies": allergy.to_resource,
    "conditions": condition.to_resource,
    "prescriptions": medication.to_resource,
}

router = APIRouter()


def resources(db: Any, chart: Chart) -> list[dict[str, Any]]:
    """The Patient, then each block's resources in a fixed order."""
    patient_id = chart.patient_id
    found = [patient_resource(patient_id, chart.blocks, directory.establishments(db))]
    for kind in ("amo", "amc"):
        for item in (chart.blocks.get("coverage") or {}).get(kind, []):
            found.append(coverage.to_resource(item, patient_id, kind))
    for block, to_resource in MAPPERS.items():
        for item in sorted(chart.blocks.get(block) or [], key=lambda i: int(i["id"])):
            found.append(to_resource(item, patient_id))
    return found


def _withheld(chart: Chart) -> dict[str, Any] | None:
    if not chart.withheld:
        return None
    why = "; ".join(f"{block}: {reason}" for block, reason in sorted(chart.withheld.items()))
    message = f"not included: {why}"
    if chart.break_glass_possible:
        message += (
            f" (to include them, resend with the headers {BREAK_GLASS_REASON} and "
            f"{BREAK_GLASS_TEXT}: see GET /fhir/metadata)"
        )
    outcome = operation_outcome(message, code="suppressed", severity="information")
    outcome["id"] = "withheld"
    return outcome


@router.get("/Patient/{ident}/$everything")
def everything(
    ident: str, request: Request, db: Db, caller: Reader, glass: Glass, page: Page
) -> Response:
    check_known(request, ())
    patient_id = parse_id(ident, "Patient")

    def read() -> Chart:
        return gateway.read_chart(
            db, caller.actor, patient_id, categories=BLOCKS,
            require=frozenset({Category.IDENTITY}), action=ACTION,
        )  # fmt: skip

    chart = read()
    if glass is not None and chart.break_glass_possible:
        gateway.break_glass(
            db, caller.actor, patient_id=patient_id, reason_code=glass.reason_code,
            reason_text=glass.reason_text,
        )  # fmt: skip
        chart = read()
    found = resources(db, chart)
    shown = found[page.offset : page.offset + page.count]
    bundle = searchset(request, shown, total=len(found), page=page)
    withheld = _withheld(chart)
    if withheld is not None:
        bundle.setdefault("entry", []).append({"resource": withheld, "search": {"mode": "outcome"}})
    return fhir_response(bundle)
