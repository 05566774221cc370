"""FHIR Patient: read, search (identity summaries only), create and update, through the
gate. The NIR (INS) is sent only to roles that need it (the gate masks it for others, and a
masked NIR is no identifier: it is left out)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from anyio import to_thread
from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from hygie.access import (
    chart_direct,
    directory,
    gateway,
    records,
    search_direct,
    writes,
    writes_identity,
)
from hygie.access.directory import Place
from hygie.access.gateway import PatientSummary
from hygie.access.policy import Category
from hygie.api.deps import Db
from hygie.auth.callers import Caller
from hygie.db import Database
from hygie.fhir import systems
from hygie.fhir.bundle import Page, searchset
from hygie.fhir.deps import Reader, Writer
from hygie.fhir.outcome import FhirError
from hygie.fhir.params import (
    check_known,
    parse_date_eq,
    parse_id,
    reference_id,
    split_token,
)
from hygie.fhir.spec import Operation, ResourceSpec, SearchParam
from hygie.fhir.versions import check_if_match, versioned
from hygie.fhir.wire import fhir_response
from hygie.fhir.writing import body_of

SPEC = ResourceSpec(
    type="Patient",
    interactions=("read", "search-type", "create", "update"),
    versioning="versioned",
    search_params=(
        SearchParam("family", "string", "birth or used name, starts with (2 letters at least)"),
        SearchParam("given", "string", "first name, starts with (with family, name or identifier)"),
        SearchParam("name", "string", "any name (birth, used, first), starts with"),
        SearchParam("birthdate", "date", "exact day (YYYY-MM-DD, optional eq prefix)"),
        SearchParam("gender", "token", "female, male or unknown"),
        SearchParam(
            "identifier",
            "token",
            f"{systems.INS_NIR}|NIR, or {systems.IPP_PREFIX}FINESS|file number",
        ),
    ),
    operations=(  # served by hygie.fhir.everything
        Operation(
            "everything",
            "http://hl7.org/fhir/OperationDefinition/Patient-everything",
            "the Patient and every resource of the record the caller may see (one audited "
            "read; withheld blocks named in an OperationOutcome entry); _count and _offset",
        ),
    ),
    documentation=(
        "Searches return identity summaries only (names, sex, birth date, establishment), "
        "tagged SUBSETTED; a search needs two letters of a name or an identifier. Reads "
        "return identity and, for roles that read them, contact details; the NIR only to "
        "roles that need it (secretaries, billing officers)."
    ),
)
SEARCH_PARAMS = frozenset(p.name for p in SPEC.search_params)
READ_BLOCKS = frozenset({Category.IDENTITY, Category.CONTACT})

router = APIRouter()
# The resource a create or update sends (parsed and checked before the route runs).
Body = Annotated[dict[str, Any], Depends(body_of("Patient"))]


def _ref(kind: str, ident: int | None) -> dict[str, str] | None:
    return None if ident is None else {"reference": f"{kind}/{ident}"}


def _names(
    birth_name: str, given: list[str], used_name: str | None, used_first: str | None
) -> list[dict[str, Any]]:
    names: list[dict[str, Any]] = [{"use": "official", "family": birth_name, "given": given}]
    if used_name or used_first:
        usual: dict[str, Any] = {"use": "usual", "family": used_name or birth_name}
        usual["given"] = [used_first or given[0]]
        names.append(usual)
    return names


def summary_resource(p: PatientSummary) -> dict[str, Any]:
    """A search result line: identity summary only."""
    resource: dict[str, Any] = {
        "resourceType": "Patient",
        "id": str(p.id),
        "meta": {"tag": [{"system": systems.SUBSETTED, "code": "SUBSETTED"}]},
        "name": _names(p.birth_name, [p.first_name], p.used_name, None),
        "gender": p.sex,
        "birthDate": p.birth_date.isoformat(),
    }
    if p.establishment_ids:
        resource["managingOrganization"] = _ref("Organization", p.establishment_ids[0])
    return resource


def patient_resource(
    patient_id: int, blocks: dict[str, Any], places: dict[int, Place]
) -> dict[str, Any]:
    """The Patient as the actor may see it (the chart's identity and contact blocks)."""
    ident = blocks["identity"]
    resource: dict[str, Any] = {"resourceType": "Patient", "id": str(patient_id)}
    identifiers: list[dict[str, Any]] = []
    nir = ident.get("nir")
    if nir and "*" not in nir:  # masked for roles that do not need it: not an identifier
        identifiers.append(
            {"use": "official", "type": {"coding": [{"system": systems.IDENTIFIER_TYPE,
             "code": "NI"}], "text": "INS-NIR"}, "system": systems.INS_NIR, "value": nir}
        )  # fmt: skip
    for file in ident["files"]:
        place = places.get(file["establishment_id"])
        if place is not None:
            identifiers.append(
                {"use": "usual", "type": {"coding": [{"system": systems.IDENTIFIER_TYPE,
                 "code": "PI"}], "text": "IPP"}, "system": systems.ipp_system(place.finess),
                 "value": file["ipp"], "assigner": _ref("Organization", place.id)}
            )  # fmt: skip
    if identifiers:
        resource["identifier"] = identifiers
    resource["active"] = ident["state"] == "active"
    given = (ident["birth_first_names"] or ident["first_name"]).split()
    resource["name"] = _names(
        ident["birth_name"], given, ident["used_name"], ident["used_first_name"]
    )
    resource["gender"] = ident["sex"]
    resource["birthDate"] = ident["birth_date"]
    if ident["died_at"]:
        resource["deceasedDateTime"] = ident["died_at"]
    elif ident["deceased"]:
        resource["deceasedBoolean"] = True
    resource["extension"] = [
        {"url": "https://hygie.invalid/fhir/StructureDefinition/identity-status",
         "valueCode": ident["identity_status"]}
    ]  # fmt: skip
    contact = blocks.get("contact")
    if contact is not None:
        telecom = [
            {"system": system, "value": contact[key], "use": use}
            for key, system, use in (("phone_mobile", "phone", "mobile"),
                                     ("phone_home", "phone", "home"), ("email", "email", "home"))
            if contact[key]
        ]  # fmt: skip
        if telecom:
            resource["telecom"] = telecom
        if contact["address_line"] or contact["city"] or contact["postal_code"]:
            address: dict[str, Any] = {"use": "home", "country": "FR"}
            if contact["address_line"]:
                address["line"] = [contact["address_line"]]
            if contact["city"]:
                address["city"] = contact["city"]
            if contact["postal_code"]:
                address["postalCode"] = contact["postal_code"]
            resource["address"] = [address]
        if contact["attending_physician_id"]:
            resource["generalPractitioner"] = [
                _ref("Practitioner", contact["attending_physician_id"])
            ]
    if ident["merged_into_id"]:
        resource["link"] = [
            {"other": _ref("Patient", ident["merged_into_id"]), "type": "replaced-by"}
        ]
    if ident["files"]:
        resource["managingOrganization"] = _ref(
            "Organization", ident["files"][0]["establishment_id"]
        )
    return resource


def _read(db: Database, caller: Caller, patient_id: int, action: str) -> dict[str, Any]:
    chart = gateway.read_chart(
        db, caller.actor, patient_id, categories=READ_BLOCKS,
        require=frozenset({Category.IDENTITY}), action=action,
    )  # fmt: skip
    return patient_resource(patient_id, chart.blocks, directory.establishments(db))


@router.get("/Patient/{ident}")
async def read(ident: str, db: Db, caller: Reader) -> Response:
    # A coroutine: the read an integration runs most, served without the thread pool on
    # PostgreSQL (access/chart_direct.py).
    patient_id = parse_id(ident, "Patient")
    chart = await chart_direct.read_chart(
        db, caller.actor, patient_id, categories=READ_BLOCKS,
        require=frozenset({Category.IDENTITY}), action="fhir.patient.read",
    )  # fmt: skip
    places = directory.fresh_establishments(db)
    if places is None:
        places = await to_thread.run_sync(directory.establishments, db)
    body, headers = versioned(patient_resource(patient_id, chart.blocks, places))
    return fhir_response(body, headers=headers)


def _query(
    request: Request, birthdate: str | None, identifier: str | None, **names: Any
) -> records.PatientQuery:
    check_known(request, SEARCH_PARAMS)
    nir, ipp = None, None
    if identifier is not None:
        system, value = split_token(identifier, "identifier")
        if system in (systems.INS_NIR, systems.INS_NIA) or (system is None and value.isdigit()):
            nir = value
        elif system is not None and systems.finess_of_ipp_system(system):
            ipp = (systems.finess_of_ipp_system(system) or "", value)
        else:
            raise FhirError(
                400, f"identifier system not searchable here: {system}", expression="identifier"
            )
    return records.PatientQuery(
        birth_date=parse_date_eq(birthdate, "birthdate") if birthdate else None,
        nir=nir, ipp=ipp, **names,
    )  # fmt: skip


@router.get("/Patient")
async def search(
    request: Request,
    db: Db,
    caller: Reader,
    page: Page,
    family: Annotated[str | None, Query(max_length=100)] = None,
    given: Annotated[str | None, Query(max_length=100)] = None,
    name: Annotated[str | None, Query(max_length=100)] = None,
    birthdate: Annotated[str | None, Query(max_length=20)] = None,
    gender: Annotated[str | None, Query(max_length=10)] = None,
    identifier: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    query = _query(
        request, birthdate, identifier, family=family, given=given, name=name, sex=gender
    )
    found = await search_direct.find_patients(
        db, caller.actor, query, offset=page.offset, count=page.count, action="fhir.patient.search"
    )
    resources = [summary_resource(p) for p in found.patients]
    return fhir_response(searchset(request, resources, total=found.total, page=page))


def _contact(resource: dict[str, Any]) -> writes.Contact:
    phones = {
        t.get("use"): t.get("value")
        for t in resource.get("telecom", [])
        if t.get("system") == "phone"
    }
    emails = [t.get("value") for t in resource.get("telecom", []) if t.get("system") == "email"]
    address = (resource.get("address") or [{}])[0]
    lines = address.get("line") or []
    return writes.Contact(
        address_line=" ".join(lines) or None, postal_code=address.get("postalCode"),
        city=address.get("city"), phone_mobile=phones.get("mobile"),
        phone_home=phones.get("home") or phones.get(None), email=emails[0] if emails else None,
    )  # fmt: skip


def _identity(resource: dict[str, Any]) -> dict[str, Any]:
    """The identity traits of a Patient a client sends."""
    names = resource.get("name") or []
    official = next((n for n in names if n.get("use") == "official"), names[0] if names else None)
    if not official or not official.get("family") or not official.get("given"):
        raise FhirError(
            422, "an official name with family and given is required", expression="Patient.name"
        )
    usual = next((n for n in names if n.get("use") == "usual"), None)
    if resource.get("gender") not in ("female", "male", "unknown"):
        raise FhirError(422, "gender must be female, male or unknown", expression="Patient.gender")
    birth = resource.get("birthDate")
    try:
        birth_date = date.fromisoformat(birth) if isinstance(birth, str) else None
    except ValueError:
        birth_date = None
    if birth_date is None:
        raise FhirError(
            422, "a full birth date (YYYY-MM-DD) is required", expression="Patient.birthDate"
        )
    nir = next(
        (
            i.get("value")
            for i in resource.get("identifier", [])
            if i.get("system") == systems.INS_NIR
        ),
        None,
    )
    return {
        "birth_name": official["family"], "birth_first_names": list(official["given"]),
        "used_name": usual.get("family") if usual else None,
        "used_first_name": (usual.get("given") or [None])[0] if usual else None,
        "sex": resource["gender"], "birth_date": birth_date, "nir": nir,
    }  # fmt: skip


def _establishment(db: Database, caller: Caller, resource: dict[str, Any]) -> int:
    org = resource.get("managingOrganization")
    if org is not None:
        return reference_id(org, "Organization", "Patient.managingOrganization")
    mine = sorted(caller.actor.establishments)
    if len(mine) != 1:
        raise FhirError(
            422, "managingOrganization (Organization/ID) is required: your account works in "
            "several establishments", expression="Patient.managingOrganization",
        )  # fmt: skip
    return mine[0]


@router.post("/Patient")
def create(request: Request, db: Db, caller: Writer, resource: Body) -> Response:
    traits = _identity(resource)
    gp = resource.get("generalPractitioner") or []
    created = writes.create_patient(
        db, caller.actor, establishment_id=_establishment(db, caller, resource),
        contact=_contact(resource), attending_physician_id=(
            reference_id(gp[0], "Practitioner", "Patient.generalPractitioner") if gp else None),
        **traits,
    )  # fmt: skip
    patient_id = created.patient.id
    body, headers = versioned(_read(db, caller, patient_id, "fhir.patient.read"))
    headers["Location"] = f"{request.url.scheme}://{request.url.netloc}/fhir/Patient/{patient_id}"
    return fhir_response(body, status=201, headers=headers)


@router.put("/Patient/{ident}")
def update(ident: str, request: Request, db: Db, caller: Writer, resource: Body) -> Response:
    patient_id = parse_id(ident, "Patient")
    current = _read(db, caller, patient_id, "fhir.patient.read")
    check_if_match(request, current)
    traits, before = _identity(resource), _identity(current)
    changed = {k: v for k, v in traits.items() if k != "nir" and v != before.get(k)}
    contact = _contact(resource)
    new_contact = contact.cleaned() != _contact(current).cleaned()  # checked before any write
    if changed:
        # None leaves a trait as it is: a used name or first name taken away is cleared.
        for name in ("used_name", "used_first_name"):
            if name in changed and changed[name] is None:
                changed[name] = ""
        writes_identity.update_identity(
            db, caller.actor, patient_id=patient_id, birth_name=changed.get("birth_name"),
            birth_first_names=changed.get("birth_first_names"), used_name=changed.get("used_name"),
            first_name=changed.get("used_first_name"), sex=changed.get("sex"),
            birth_date=changed.get("birth_date"),
        )  # fmt: skip
    if new_contact:
        writes.update_contact(db, caller.actor, patient_id=patient_id, contact=contact)
    body, headers = versioned(_read(db, caller, patient_id, "fhir.patient.read"))
    return fhir_response(body, headers=headers)
