"""What the clinical resources (AllergyIntolerance, Condition, MedicationRequest) share:
a search by patient (one audited chart read of the resource's block, paged here), a read
of one entry, creation and update answers, and break-the-glass asked for in headers for
reads and writes alike.

A clinical search needs ``patient``: a search across patients would be a list of
clinical content, which the gate does not give."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from starlette.requests import Request
from starlette.responses import Response

from hygie.access import gateway, records
from hygie.access.gateway import AccessDenied
from hygie.access.policy import Category
from hygie.auth.callers import Caller
from hygie.db import Database
from hygie.fhir.bundle import Paging, base_url, searchset
from hygie.fhir.deps import GlassRequest
from hygie.fhir.glass import through_glass
from hygie.fhir.outcome import FhirError
from hygie.fhir.params import check_known, reference_id, reference_param
from hygie.fhir.spec import SearchParam
from hygie.fhir.versions import versioned
from hygie.fhir.wire import fhir_response

T = TypeVar("T")
Mapper = Callable[[dict[str, Any], int], dict[str, Any]]

# Hygie's own code systems (until an installation maps them to national terminologies):
# the shipped drug list and the administration routes; ATC codes alongside.
DRUG_SYSTEM = "https://hygie.invalid/fhir/CodeSystem/drug"
ROUTE_SYSTEM = "https://hygie.invalid/fhir/CodeSystem/route"
ATC_SYSTEM = "http://www.whocc.no/atc"
# The establishment a clinical entry is recorded in, when the writer works in several.
ESTABLISHMENT_EXTENSION = "https://hygie.invalid/fhir/StructureDefinition/establishment"
PATIENT_PARAM = SearchParam("patient", "reference", "required: Patient/ID (or ID)")
CREATE_NOTE = (
    "Created in the writer's establishment; one who works in several names it with the "
    f"extension {ESTABLISHMENT_EXTENSION} (valueReference Organization/ID)."
)


@dataclass(frozen=True)
class Kind:
    """One clinical resource type as the gate knows it."""

    resource_type: str
    item: str  # records.read_item kind
    category: Category
    block: str  # the chart block it is found in
    action: str  # the trail's name, e.g. "fhir.allergy" (+ ".read" / ".search")
    to_resource: Mapper


def ref(kind: str, ident: int | None) -> dict[str, str] | None:
    return None if ident is None else {"reference": f"{kind}/{ident}"}


def statuses(status: str, *, clinical: str, verification: str) -> dict[str, Any]:
    """The clinicalStatus and verificationStatus of an allergy or a condition whose Hygie
    status is ``status`` (entered in error: no clinical status), in the resource's own code
    systems."""
    if status == "entered_in_error":
        return {"verificationStatus": {"coding": [coding(verification, "entered-in-error")]}}
    return {
        "clinicalStatus": {"coding": [coding(clinical, status)]},
        "verificationStatus": {"coding": [coding(verification, "confirmed")]},
    }


def coding(system: str, code: str, display: str | None = None) -> dict[str, str]:
    found = {"system": system, "code": code}
    if display:
        found["display"] = display
    return found


def search(
    request: Request,
    db: Database,
    caller: Caller,
    glass: GlassRequest | None,
    page: Paging,
    kind: Kind,
) -> Response:
    """``GET /{type}?patient=``: the patient's entries of the kind, one page, with the total."""
    check_known(request, {"patient"})
    raw = request.query_params.get("patient")
    if not raw:
        raise FhirError(400, "search by patient: patient=Patient/ID is required",
                        expression="patient")  # fmt: skip
    patient_id = reference_param(raw, "Patient", "patient")
    wanted = frozenset({kind.category})
    chart = through_glass(
        db, caller.actor, glass,
        lambda: gateway.read_chart(
            db, caller.actor, patient_id, categories=wanted, require=wanted,
            action=f"{kind.action}.search",
            details={"offset": page.offset, "count": page.count},
        ),
    )  # fmt: skip
    items = sorted(chart.blocks[kind.block], key=lambda i: int(i["id"]))
    shown = items[page.offset : page.offset + page.count]
    resources = [kind.to_resource(item, patient_id) for item in shown]
    return fhir_response(searchset(request, resources, total=len(items), page=page))


def read_one(
    db: Database, caller: Caller, glass: GlassRequest | None, kind: Kind, item_id: int
) -> dict[str, Any]:
    """One entry as the resource, read through the gate (break-the-glass if asked)."""
    chart, item = through_glass(
        db, caller.actor, glass,
        lambda: records.read_item(db, caller.actor, kind=kind.item, item_id=item_id,
                                  action=f"{kind.action}.read"),
    )  # fmt: skip
    return kind.to_resource(item, chart.patient_id)


def answer(resource: dict[str, Any], *, status: int = 200, location: str | None = None) -> Response:
    body, headers = versioned(resource)
    if location is not None:
        headers["Location"] = location
    return fhir_response(body, status=status, headers=headers)


def created(request: Request, resource: dict[str, Any]) -> Response:
    location = f"{base_url(request)}/{resource['resourceType']}/{resource['id']}"
    return answer(resource, status=201, location=location)


def write_through_glass(
    db: Database,
    caller: Caller,
    glass: GlassRequest | None,
    patient_id: int,
    write: Callable[[], T],
) -> T:
    """A write refused only for want of a care relationship is retried once the gate has
    granted the break-the-glass the request asked for (the write engine's refusal does not
    name the patient, the resource does)."""
    try:
        return write()
    except AccessDenied as refused:
        if glass is None or not refused.break_glass_possible:
            raise
        gateway.break_glass(
            db, caller.actor, patient_id=patient_id, reason_code=glass.reason_code,
            reason_text=glass.reason_text,
        )  # fmt: skip
    return write()


def patient_of(resource: dict[str, Any], element: str) -> int:
    where = f"{resource['resourceType']}.{element}"
    if resource.get(element) is None:
        raise FhirError(422, f"{element} (a reference Patient/ID) is required", expression=where)
    return reference_id(resource[element], "Patient", where)


def establishment_of(caller: Caller, resource: dict[str, Any]) -> int:
    """Where an entry is created: the establishment the resource names (extension), or
    the writer's only one."""
    for extension in resource.get("extension") or []:
        if extension.get("url") == ESTABLISHMENT_EXTENSION:
            return reference_id(
                extension.get("valueReference"), "Organization",
                f"{resource['resourceType']}.extension",
            )  # fmt: skip
    mine = sorted(caller.actor.establishments)
    if len(mine) != 1:
        raise FhirError(
            422, "your account works in several establishments: name the one this is recorded "
            f"in with the extension {ESTABLISHMENT_EXTENSION} (valueReference Organization/ID)",
            expression=f"{resource['resourceType']}.extension",
        )  # fmt: skip
    return mine[0]


def code_of(concept: Any, system: str) -> str | None:
    """The code of ``system`` in a CodeableConcept, if any."""
    if not isinstance(concept, dict):
        return None
    for c in concept.get("coding") or []:
        if c.get("system") == system and c.get("code"):
            return str(c["code"])
    return None


def text_of(concept: Any) -> str | None:
    """What a CodeableConcept says in words: its text, or the display of a coding."""
    if not isinstance(concept, dict):
        return None
    if concept.get("text"):
        return str(concept["text"])
    return next((str(c["display"]) for c in concept.get("coding") or [] if c.get("display")), None)


def unchanged(current: dict[str, Any], sent: dict[str, Any], resource_type: str) -> None:
    """Refuse an update that changes what an entry *is* (422): only what evolves is
    changed through an update; a wrong entry is marked entered-in-error and recorded anew."""
    differ = sorted(k for k in current if current[k] != sent.get(k))
    if differ:
        raise FhirError(
            422, f"only the status and what evolves may change in an update, not: "
            f"{', '.join(differ)} (mark the entry entered-in-error and create a new one)",
            expression=f"{resource_type}.{differ[0]}",
        )  # fmt: skip
