"""FHIR PractitionerRole: a professional's role in an establishment (one habilitation of
their account, with its period), read and searched through the gate's directory, every
access recorded. No patient data."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from hygie.access import directory
from hygie.access.directory import Post
from hygie.api.deps import Db
from hygie.fhir.bundle import Page, searchset
from hygie.fhir.deps import Reader
from hygie.fhir.params import check_known, parse_id, reference_param
from hygie.fhir.spec import ResourceSpec, SearchParam
from hygie.fhir.wire import fhir_response

ROLE = "https://hygie.invalid/fhir/CodeSystem/role"

SPEC = ResourceSpec(
    type="PractitionerRole",
    interactions=("read", "search-type"),
    search_params=(
        SearchParam("practitioner", "reference", "Practitioner/ID"),
        SearchParam("organization", "reference", "Organization/ID"),
    ),
    documentation=(
        "A professional's habilitation in an establishment: the role (physician, nurse, "
        "secretary...), its period, active when valid today."
    ),
)
SEARCH_PARAMS = frozenset(p.name for p in SPEC.search_params)

router = APIRouter()


def to_resource(post: Post) -> dict[str, Any]:
    period = {"start": post.valid_from.isoformat()}
    if post.valid_until is not None:
        period["end"] = post.valid_until.isoformat()
    return {
        "resourceType": "PractitionerRole",
        "id": str(post.id),
        "active": post.active,
        "period": period,
        "practitioner": {"reference": f"Practitioner/{post.professional_id}"},
        "organization": {"reference": f"Organization/{post.establishment_id}"},
        "code": [{"coding": [{"system": ROLE, "code": post.role}], "text": post.role}],
    }


@router.get("/PractitionerRole/{ident}")
def read(ident: str, db: Db, caller: Reader) -> Response:
    post = directory.read_post(
        db, caller.actor, parse_id(ident, "PractitionerRole"), action="fhir.role.read"
    )
    return fhir_response(to_resource(post))


@router.get("/PractitionerRole")
def search(
    request: Request,
    db: Db,
    caller: Reader,
    page: Page,
    practitioner: Annotated[str | None, Query(max_length=200)] = None,
    organization: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    check_known(request, SEARCH_PARAMS)
    found = directory.find_posts(
        db, caller.actor,
        professional_id=(
            reference_param(practitioner, "Practitioner", "practitioner") if practitioner else None
        ),
        establishment_id=(
            reference_param(organization, "Organization", "organization") if organization else None
        ),
        offset=page.offset, count=page.count, action="fhir.role.search",
    )  # fmt: skip
    resources = [to_resource(p) for p in found.items]
    return fhir_response(searchset(request, resources, total=found.total, page=page))
