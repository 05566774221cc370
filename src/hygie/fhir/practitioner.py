"""FHIR Practitioner: the professionals of the directory (RPPS identifier), read and
searched through the gate's directory (:mod:`hygie.access.directory`), every access
recorded. No patient data."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from hygie.access import directory
from hygie.access.directory import Person
from hygie.api.deps import Db
from hygie.fhir import systems
from hygie.fhir.bundle import Page, searchset
from hygie.fhir.deps import Reader
from hygie.fhir.outcome import FhirError
from hygie.fhir.params import check_known, parse_id, split_token
from hygie.fhir.spec import ResourceSpec, SearchParam
from hygie.fhir.wire import fhir_response

PROFESSION = "https://hygie.invalid/fhir/CodeSystem/profession"

SPEC = ResourceSpec(
    type="Practitioner",
    interactions=("read", "search-type"),
    search_params=(
        SearchParam("family", "string", "family name, starts with (case-insensitive)"),
        SearchParam("identifier", "token", f"{systems.RPPS}|RPPS"),
    ),
    documentation="Professionals of the group and outside attending physicians.",
)
SEARCH_PARAMS = frozenset(p.name for p in SPEC.search_params)

router = APIRouter()


def to_resource(person: Person) -> dict[str, Any]:
    resource: dict[str, Any] = {"resourceType": "Practitioner", "id": str(person.id)}
    if person.rpps:
        resource["identifier"] = [{"use": "official", "system": systems.RPPS, "value": person.rpps}]
    name: dict[str, Any] = {"use": "official", "family": person.family_name,
                            "given": [person.given_name]}  # fmt: skip
    if person.profession == "physician":
        name["prefix"] = ["Dr"]
    resource["name"] = [name]
    qualification: dict[str, Any] = {
        "code": {"coding": [{"system": PROFESSION, "code": person.profession}],
                 "text": person.specialty or person.profession}
    }  # fmt: skip
    resource["qualification"] = [qualification]
    return resource


@router.get("/Practitioner/{ident}")
def read(ident: str, db: Db, caller: Reader) -> Response:
    person = directory.read_professional(
        db, caller.actor, parse_id(ident, "Practitioner"), action="fhir.practitioner.read"
    )
    return fhir_response(to_resource(person))


@router.get("/Practitioner")
def search(
    request: Request,
    db: Db,
    caller: Reader,
    page: Page,
    family: Annotated[str | None, Query(min_length=1, max_length=100)] = None,
    identifier: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    check_known(request, SEARCH_PARAMS)
    rpps = None
    if identifier is not None:
        system, rpps = split_token(identifier, "identifier")
        if system not in (None, systems.RPPS):
            raise FhirError(
                400, f"identifier system not searchable here: {system}", expression="identifier"
            )
    found = directory.find_professionals(
        db, caller.actor, family=family, rpps=rpps, offset=page.offset, count=page.count,
        action="fhir.practitioner.search",
    )  # fmt: skip
    resources = [to_resource(p) for p in found.items]
    return fhir_response(searchset(request, resources, total=found.total, page=page))
