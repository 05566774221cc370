"""FHIR Condition: read, search by patient, create and update (status, onset), through
the gate. A condition is a CIM-10 code of the shipped list (coded in the ICD-10 system,
with the French label as display); physicians and midwives record them."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from hygie.access import writes, writes_clinical
from hygie.access.policy import Category
from hygie.api.deps import Db
from hygie.fhir import clinical, systems
from hygie.fhir.bundle import Page
from hygie.fhir.clinical import coding, ref, statuses
from hygie.fhir.deps import Glass, Reader, Writer
from hygie.fhir.outcome import FhirError
from hygie.fhir.params import parse_id
from hygie.fhir.spec import ResourceSpec
from hygie.fhir.versions import check_if_match
from hygie.fhir.writing import body_of

TYPE = "Condition"
CLINICAL_STATUS = "http://terminology.hl7.org/CodeSystem/condition-clinical"
VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
# FHIR clinical statuses Hygie keeps (recurrence, relapse and remission are not kept).
STATUSES = ("active", "inactive", "resolved")

SPEC = ResourceSpec(
    type=TYPE,
    interactions=("read", "search-type", "create", "update"),
    versioning="versioned",
    search_params=(clinical.PATIENT_PARAM,),
    documentation=(
        f"Clinical content: a care relationship or break-the-glass. code: a CIM-10 code "
        f"({systems.CIM10}) of the shipped list; clinicalStatus active, inactive or resolved "
        "(or verificationStatus entered-in-error); onsetDateTime a day. An update changes "
        f"the status and the onset only. {clinical.CREATE_NOTE}"
    ),
)

router = APIRouter()
# The resource a create or update sends (parsed and checked before the route runs).
Body = Annotated[dict[str, Any], Depends(body_of(TYPE))]


def to_resource(item: dict[str, Any], patient_id: int) -> dict[str, Any]:
    """A condition of the chart's ``conditions`` block as a Condition."""
    resource: dict[str, Any] = {"resourceType": TYPE, "id": str(item["id"])}
    resource.update(statuses(item["status"], clinical=CLINICAL_STATUS, verification=VERIFICATION))
    resource["category"] = [
        {"coding": [coding(CATEGORY, "problem-list-item", "Problem List Item")]}
    ]
    resource["code"] = {
        "coding": [coding(systems.CIM10, item["code"], item["label"])],
        "text": item["label"],
    }
    resource["subject"] = ref("Patient", patient_id)
    if item["onset_date"]:
        resource["onsetDateTime"] = item["onset_date"]
    resource["recordedDate"] = item["recorded_at"]
    resource["recorder"] = ref("Practitioner", item["recorded_by_id"])
    return resource


KIND = clinical.Kind(
    TYPE, "condition", Category.CONDITIONS, "conditions", "fhir.condition", to_resource
)


def _status(resource: dict[str, Any]) -> str | None:
    if clinical.code_of(resource.get("verificationStatus"), VERIFICATION) == "entered-in-error":
        return "entered_in_error"
    concept = resource.get("clinicalStatus")
    if concept is None:
        return None
    status = clinical.code_of(concept, CLINICAL_STATUS)
    if status not in STATUSES:
        raise FhirError(
            422, f"clinicalStatus: one of {', '.join(STATUSES)} ({CLINICAL_STATUS})",
            expression=f"{TYPE}.clinicalStatus",
        )  # fmt: skip
    return status


def _code(resource: dict[str, Any]) -> str:
    code = clinical.code_of(resource.get("code"), systems.CIM10)
    if code is None:
        raise FhirError(422, f"code: a CIM-10 code in the system {systems.CIM10} is required",
                        expression=f"{TYPE}.code")  # fmt: skip
    return code.strip().upper()


def _onset(resource: dict[str, Any]) -> date | None:
    if "onsetDateTime" not in resource:
        for other in ("onsetAge", "onsetPeriod", "onsetRange", "onsetString"):
            if other in resource:
                raise FhirError(422, "the onset is a day (onsetDateTime)",
                                expression=f"{TYPE}.{other}")  # fmt: skip
        return None
    raw = str(resource["onsetDateTime"])
    try:
        return date.fromisoformat(raw[:10])
    except ValueError:
        raise FhirError(422, "onsetDateTime: a full day (YYYY-MM-DD) is required",
                        expression=f"{TYPE}.onsetDateTime") from None  # fmt: skip


@router.get(f"/{TYPE}/{{ident}}")
def read(ident: str, db: Db, caller: Reader, glass: Glass) -> Response:
    return clinical.answer(clinical.read_one(db, caller, glass, KIND, parse_id(ident, TYPE)))


@router.get(f"/{TYPE}")
def search(request: Request, db: Db, caller: Reader, glass: Glass, page: Page) -> Response:
    return clinical.search(request, db, caller, glass, page, KIND)


@router.post(f"/{TYPE}")
def create(request: Request, db: Db, caller: Writer, glass: Glass, resource: Body) -> Response:
    patient_id = clinical.patient_of(resource, "subject")
    establishment_id = clinical.establishment_of(caller, resource)
    code, onset = _code(resource), _onset(resource)
    if _status(resource) not in (None, "active"):
        raise FhirError(422, "a new condition is active", expression=f"{TYPE}.clinicalStatus")
    condition_id = clinical.write_through_glass(
        db, caller, glass, patient_id,
        lambda: writes.add_condition(
            db, caller.actor, patient_id=patient_id, establishment_id=establishment_id,
            code=code, onset_date=onset,
        ),
    )  # fmt: skip
    return clinical.created(request, clinical.read_one(db, caller, None, KIND, condition_id))


@router.put(f"/{TYPE}/{{ident}}")
def update(
    ident: str, request: Request, db: Db, caller: Writer, glass: Glass, resource: Body
) -> Response:
    condition_id = parse_id(ident, TYPE)
    current = clinical.read_one(db, caller, glass, KIND, condition_id)
    check_if_match(request, current)
    clinical.unchanged(
        {"subject": clinical.patient_of(current, "subject"), "code": _code(current)},
        {"subject": clinical.patient_of(resource, "subject"), "code": _code(resource)},
        TYPE,
    )
    status, onset = _status(resource), _onset(resource)
    changes: dict[str, Any] = {}
    if status is not None and status != _status(current):
        changes["status"] = status
    if onset != _onset(current):
        changes["onset_date"] = onset
    if changes:
        writes_clinical.update_condition(db, caller.actor, condition_id=condition_id, **changes)
    return clinical.answer(clinical.read_one(db, caller, None, KIND, condition_id))
