"""FHIR Coverage: a patient's statutory (AMO, ids ``amo-N``) and complementary (AMC, mutuelle,
ids ``amc-N``) coverages, read and searched by patient through the gate. The insured's NIR
is never sent; the AMC member number only to roles that need it (the gate withholds it from
the others)."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from hygie.access import gateway, records
from hygie.access.policy import Category
from hygie.api.deps import MAX_ID, Db
from hygie.errors import NotFoundError
from hygie.fhir.bundle import Page, searchset
from hygie.fhir.deps import Reader
from hygie.fhir.outcome import FhirError
from hygie.fhir.params import check_known, reference_param
from hygie.fhir.spec import ResourceSpec, SearchParam
from hygie.fhir.wire import fhir_response

ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
RELATIONSHIP = "http://terminology.hl7.org/CodeSystem/subscriber-relationship"
# The fund (caisse) and the complementary organism, identified by their own numbers.
FUND_SYSTEM = "https://hygie.invalid/fhir/sid/amo-fund"
ORGANISM_SYSTEM = "https://hygie.invalid/fhir/sid/amc-organism"
_ID = re.compile(r"(amo|amc)-([0-9]{1,19})")

SPEC = ResourceSpec(
    type="Coverage",
    interactions=("read", "search-type"),
    search_params=(SearchParam("patient", "reference", "Patient/ID (required)"),),
    documentation=(
        "Ids amo-N (statutory, assurance maladie obligatoire) and amc-N (complementary, "
        "mutuelle). Payor: the fund or the organism (display and number). The insured's "
        "NIR is never sent; the AMC member number (subscriberId) only to secretaries and "
        "billing officers."
    ),
)
SEARCH_PARAMS = frozenset(p.name for p in SPEC.search_params)

router = APIRouter()


def to_resource(item: dict[str, Any], patient_id: int, kind: str | None = None) -> dict[str, Any]:
    """A coverage of the chart's ``coverage`` block (``kind``: "amo" or "amc"; by default
    told from the item, an AMO having a fund) as a FHIR Coverage."""
    kind = kind or ("amo" if "fund_code" in item else "amc")
    patient = {"reference": f"Patient/{patient_id}"}
    resource: dict[str, Any] = {
        "resourceType": "Coverage",
        "id": f"{kind}-{item['id']}",
        "status": "active",
        "beneficiary": patient,
    }
    period = {"start": item["valid_from"]}
    if item.get("valid_until"):
        period["end"] = item["valid_until"]
    if kind == "amo":
        resource["type"] = {
            "coding": [{"system": ACT_CODE, "code": "PUBLICPOL", "display": "public healthcare"}],
            "text": "AMO (assurance maladie obligatoire)",
        }
        insured = item.get("beneficiary") == "insured"
        resource["relationship"] = {
            "coding": [{"system": RELATIONSHIP, "code": "self" if insured else "other"}],
            "text": "assuré" if insured else "ayant droit",
        }
        if insured:
            resource["subscriber"] = patient
        resource["payor"] = [
            {"identifier": {"system": FUND_SYSTEM, "value": f"{item['regime']}{item['fund_code']}"},
             "display": item["fund"]}
        ]  # fmt: skip
    else:
        resource["type"] = {"text": "AMC (assurance maladie complémentaire, mutuelle)"}
        if item.get("member_number"):
            resource["subscriberId"] = item["member_number"]
        resource["payor"] = [
            {"identifier": {"system": ORGANISM_SYSTEM, "value": item["organism_number"]},
             "display": item["organism"]}
        ]  # fmt: skip
    resource["period"] = period
    return resource


def _parse_id(raw: str) -> tuple[str, int]:
    match = _ID.fullmatch(raw)
    if match is None or not 1 <= int(match[2]) <= MAX_ID:
        raise FhirError(404, f"Coverage/{raw[:40]} does not exist (ids are amo-N or amc-N)")
    return match[1], int(match[2])


@router.get("/Coverage/{ident}")
def read(ident: str, db: Db, caller: Reader) -> Response:
    kind, item_id = _parse_id(ident)
    chart, item = records.read_item(
        db, caller.actor, kind=kind, item_id=item_id, action="fhir.coverage.read"
    )
    return fhir_response(to_resource(item, chart.patient_id, kind))


@router.get("/Coverage")
def search(
    request: Request,
    db: Db,
    caller: Reader,
    page: Page,
    patient: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    check_known(request, SEARCH_PARAMS)
    if patient is None:
        raise FhirError(400, "search coverages by patient", expression="patient")
    patient_id = reference_param(patient, "Patient", "patient")
    try:
        chart = gateway.read_chart(
            db, caller.actor, patient_id, categories=frozenset({Category.COVERAGE}),
            require=frozenset({Category.COVERAGE}), action="fhir.coverage.search",
            details={"offset": page.offset, "count": page.count},
        )  # fmt: skip
    except NotFoundError:  # outside the actor's establishments: recorded, nothing to show
        return fhir_response(searchset(request, [], total=0, page=page))
    block = chart.blocks["coverage"]
    every = [to_resource(c, patient_id, "amo") for c in block["amo"]] + [
        to_resource(c, patient_id, "amc") for c in block["amc"]
    ]
    chosen = every[page.offset : page.offset + page.count]
    return fhir_response(searchset(request, chosen, total=len(every), page=page))
