"""FHIR Encounter: read and search of stays (consultations and hospital stays), through the
gate. Admission, transfer and discharge are done by the HL7 ADT feed and the JSON API: no
FHIR writes here."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from hygie.access import lists, records
from hygie.api.deps import Db
from hygie.fhir.bundle import Page, searchset
from hygie.fhir.deps import Reader
from hygie.fhir.outcome import FhirError
from hygie.fhir.params import (
    check_known,
    date_params,
    parse_date_range,
    parse_id,
    reference_param,
    token_list,
)
from hygie.fhir.spec import ResourceSpec, SearchParam
from hygie.fhir.wire import fhir_response

ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
CLASSES = {
    "outpatient": {"system": ACT_CODE, "code": "AMB", "display": "ambulatory"},
    "inpatient": {"system": ACT_CODE, "code": "IMP", "display": "inpatient encounter"},
}
TO_FHIR = {"in_progress": "in-progress", "finished": "finished"}
FROM_FHIR = {fhir: hygie for hygie, fhir in TO_FHIR.items()}

SPEC = ResourceSpec(
    type="Encounter",
    interactions=("read", "search-type"),
    search_params=(
        SearchParam("patient", "reference", "Patient/ID (required)"),
        SearchParam(
            "date", "date", "days the stay overlaps (Europe/Paris), prefixes eq, ge, gt, le, lt"
        ),
        SearchParam("status", "token", "in-progress or finished (comma: any of)"),
    ),
    documentation=(
        "Consultations (class AMB) and hospital stays (class IMP). A search needs patient. "
        "Admission, transfer and discharge come through HL7 v2 ADT and the JSON API."
    ),
)
SEARCH_PARAMS = frozenset(p.name for p in SPEC.search_params)

router = APIRouter()


def to_resource(item: dict[str, Any], patient_id: int) -> dict[str, Any]:
    """A stay of the chart's ``stays`` block as a FHIR Encounter."""
    period: dict[str, str] = {"start": item["start_at"]}
    if item.get("end_at"):
        period["end"] = item["end_at"]
    resource: dict[str, Any] = {
        "resourceType": "Encounter",
        "id": str(item["id"]),
        "status": TO_FHIR[item["status"]],
        "class": CLASSES[item["kind"]],
        "subject": {"reference": f"Patient/{patient_id}"},
        "period": period,
        "serviceProvider": {"reference": f"Organization/{item['establishment_id']}"},
    }
    if item.get("responsible_id"):
        resource["participant"] = [
            {
                "type": [{"coding": [{
                    "system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
                    "code": "ATND", "display": "attender"}]}],
                "individual": {"reference": f"Practitioner/{item['responsible_id']}"},
            }
        ]  # fmt: skip
    if item.get("reason"):
        resource["reasonCode"] = [{"text": item["reason"]}]
    return resource


@router.get("/Encounter/{ident}")
def read(ident: str, db: Db, caller: Reader) -> Response:
    chart, item = records.read_item(
        db, caller.actor, kind="encounter", item_id=parse_id(ident, "Encounter"),
        action="fhir.encounter.read",
    )  # fmt: skip
    return fhir_response(to_resource(item, chart.patient_id))


@router.get("/Encounter")
def search(
    request: Request,
    db: Db,
    caller: Reader,
    page: Page,
    patient: Annotated[str | None, Query(max_length=200)] = None,
    status: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    check_known(request, SEARCH_PARAMS)
    dates = date_params(request)
    if patient is None:
        raise FhirError(400, "search encounters by patient", expression="patient")
    start, end = parse_date_range(dates, "date")
    filters = lists.Filters(
        patient_id=reference_param(patient, "Patient", "patient"), start=start, end=end,
        statuses=token_list(status, FROM_FHIR, "status"),
    )  # fmt: skip
    found = lists.stays(
        db, caller.actor, filters, offset=page.offset, count=page.count,
        action="fhir.encounter.search",
    )  # fmt: skip
    resources = [to_resource(item, pid) for pid, item in found.items]
    return fhir_response(searchset(request, resources, total=found.total, page=page))
