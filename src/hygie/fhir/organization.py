"""FHIR Organization: the group's establishments (FINESS identifier), read and searched
through the gate's directory, every access recorded. No patient data."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from hygie.access import directory
from hygie.access.directory import Place
from hygie.api.deps import Db
from hygie.fhir import systems
from hygie.fhir.bundle import Page, searchset
from hygie.fhir.deps import Reader
from hygie.fhir.outcome import FhirError
from hygie.fhir.params import check_known, parse_id, split_token
from hygie.fhir.spec import ResourceSpec, SearchParam
from hygie.fhir.wire import fhir_response

SPEC = ResourceSpec(
    type="Organization",
    interactions=("read", "search-type"),
    search_params=(
        SearchParam("name", "string", "part of the name (accents and case ignored)"),
        SearchParam("identifier", "token", f"{systems.FINESS}|FINESS"),
    ),
    documentation="The group's establishments.",
)
SEARCH_PARAMS = frozenset(p.name for p in SPEC.search_params)

router = APIRouter()


def to_resource(place: Place) -> dict[str, Any]:
    return {
        "resourceType": "Organization",
        "id": str(place.id),
        "identifier": [{"use": "official", "system": systems.FINESS, "value": place.finess}],
        "active": True,
        "type": [{"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/organization-type", "code": "prov",
            "display": "Healthcare Provider"}]}],
        "name": place.name,
        "address": [{"use": "work", "line": [place.address_line], "postalCode": place.postal_code,
                     "city": place.city, "country": "FR"}],
    }  # fmt: skip


@router.get("/Organization/{ident}")
def read(ident: str, db: Db, caller: Reader) -> Response:
    place = directory.read_establishment(
        db, caller.actor, parse_id(ident, "Organization"), action="fhir.organization.read"
    )
    return fhir_response(to_resource(place))


@router.get("/Organization")
def search(
    request: Request,
    db: Db,
    caller: Reader,
    page: Page,
    name: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
    identifier: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    check_known(request, SEARCH_PARAMS)
    finess = None
    if identifier is not None:
        system, finess = split_token(identifier, "identifier")
        if system not in (None, systems.FINESS):
            raise FhirError(
                400, f"identifier system not searchable here: {system}", expression="identifier"
            )
    found = directory.find_establishments(
        db, caller.actor, name=name, finess=finess, offset=page.offset, count=page.count,
        action="fhir.organization.search",
    )  # fmt: skip
    resources = [to_resource(p) for p in found.items]
    return fhir_response(searchset(request, resources, total=found.total, page=page))
