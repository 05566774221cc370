"""FHIR AllergyIntolerance: read, search by patient, create and update (status, severity,
reaction), through the gate. An allergy is a substance as typed by a clinician, coded with
the drug it names when there is one; its severity (mild, moderate, severe) is the
reaction's, and sets the criticality (severe: high, otherwise low)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from hygie import reference
from hygie.access import writes, writes_clinical
from hygie.access.policy import Category
from hygie.api.deps import Db
from hygie.fhir import clinical
from hygie.fhir.bundle import Page
from hygie.fhir.clinical import coding, ref, statuses
from hygie.fhir.deps import Glass, Reader, Writer
from hygie.fhir.outcome import FhirError
from hygie.fhir.params import parse_id
from hygie.fhir.spec import ResourceSpec
from hygie.fhir.versions import check_if_match
from hygie.fhir.writing import body_of

TYPE = "AllergyIntolerance"
CLINICAL_STATUS = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
VERIFICATION = "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification"
SEVERITIES = ("mild", "moderate", "severe")

SPEC = ResourceSpec(
    type=TYPE,
    interactions=("read", "search-type", "create", "update"),
    versioning="versioned",
    search_params=(clinical.PATIENT_PARAM,),
    documentation=(
        "Clinical content: a care relationship or break-the-glass. The substance is "
        f"code.text, coded in {clinical.DRUG_SYSTEM} when it names a drug of the shipped list; the "
        "reaction is reaction[0].manifestation[0].text and its severity reaction[0].severity "
        "(both required). An update changes clinicalStatus (or verificationStatus "
        f"entered-in-error), the severity and the reaction only. {clinical.CREATE_NOTE}"
    ),
)

router = APIRouter()
# The resource a create or update sends (parsed and checked before the route runs).
Body = Annotated[dict[str, Any], Depends(body_of(TYPE))]


def to_resource(item: dict[str, Any], patient_id: int) -> dict[str, Any]:
    """An allergy of the chart's ``allergies`` block as an AllergyIntolerance."""
    resource: dict[str, Any] = {"resourceType": TYPE, "id": str(item["id"])}
    resource.update(statuses(item["status"], clinical=CLINICAL_STATUS, verification=VERIFICATION))
    resource["type"] = "allergy"
    code: dict[str, Any] = {"text": item["substance"]}
    drug = reference.drugs().get(item["drug_code"] or "")
    if drug is not None:
        resource["category"] = ["medication"]
        code["coding"] = [coding(clinical.DRUG_SYSTEM, drug.code, drug.name)]
    resource["criticality"] = "high" if item["severity"] == "severe" else "low"
    resource["code"] = code
    resource["patient"] = ref("Patient", patient_id)
    resource["recordedDate"] = item["recorded_at"]
    resource["recorder"] = ref("Practitioner", item["recorded_by_id"])
    resource["reaction"] = [
        {"manifestation": [{"text": item["reaction"]}], "severity": item["severity"]}
    ]
    return resource


KIND = clinical.Kind(TYPE, "allergy", Category.ALLERGIES, "allergies", "fhir.allergy", to_resource)


def _status(resource: dict[str, Any]) -> str | None:
    """The domain status a resource says (None: it says none)."""
    if clinical.code_of(resource.get("verificationStatus"), VERIFICATION) == "entered-in-error":
        return "entered_in_error"
    status = clinical.code_of(resource.get("clinicalStatus"), CLINICAL_STATUS)
    if status is None and resource.get("clinicalStatus") is not None:
        raise FhirError(422, f"clinicalStatus needs a code of {CLINICAL_STATUS}",
                        expression=f"{TYPE}.clinicalStatus")  # fmt: skip
    return status


def _reaction(resource: dict[str, Any]) -> tuple[str, str]:
    """The reaction (in words) and its severity."""
    reactions = resource.get("reaction") or []
    first = reactions[0] if reactions else {}
    words = next((clinical.text_of(m) for m in first.get("manifestation") or []), None)
    words = words or first.get("description")
    if not words:
        raise FhirError(422, "the reaction is required (reaction[0].manifestation[0].text)",
                        expression=f"{TYPE}.reaction")  # fmt: skip
    severity = first.get("severity")
    if severity not in SEVERITIES:
        raise FhirError(422, "the reaction's severity is required: mild, moderate or severe",
                        expression=f"{TYPE}.reaction.severity")  # fmt: skip
    return str(words), str(severity)


def _substance(resource: dict[str, Any]) -> dict[str, Any]:
    """What the allergy is to: the substance in words and the drug code, if any."""
    concept = resource.get("code")
    drug_code = clinical.code_of(concept, clinical.DRUG_SYSTEM)
    text = clinical.text_of(concept)
    if drug_code is not None and not text:
        drug = reference.drugs().get(drug_code)
        text = drug.name if drug else None
    if not text:
        raise FhirError(422, "the substance is required (code.text)", expression=f"{TYPE}.code")
    return {"substance": text, "drug_code": drug_code}


@router.get(f"/{TYPE}/{{ident}}")
def read(ident: str, db: Db, caller: Reader, glass: Glass) -> Response:
    return clinical.answer(clinical.read_one(db, caller, glass, KIND, parse_id(ident, TYPE)))


@router.get(f"/{TYPE}")
def search(request: Request, db: Db, caller: Reader, glass: Glass, page: Page) -> Response:
    return clinical.search(request, db, caller, glass, page, KIND)


@router.post(f"/{TYPE}")
def create(request: Request, db: Db, caller: Writer, glass: Glass, resource: Body) -> Response:
    patient_id = clinical.patient_of(resource, "patient")
    establishment_id = clinical.establishment_of(caller, resource)
    what = _substance(resource)
    words, severity = _reaction(resource)
    if _status(resource) not in (None, "active"):
        raise FhirError(422, "a new allergy is active", expression=f"{TYPE}.clinicalStatus")
    allergy_id = clinical.write_through_glass(
        db, caller, glass, patient_id,
        lambda: writes.record_allergy(
            db, caller.actor, patient_id=patient_id, establishment_id=establishment_id,
            reaction=words, severity=severity, **what,
        ),
    )  # fmt: skip
    return clinical.created(request, clinical.read_one(db, caller, None, KIND, allergy_id))


@router.put(f"/{TYPE}/{{ident}}")
def update(
    ident: str, request: Request, db: Db, caller: Writer, glass: Glass, resource: Body
) -> Response:
    allergy_id = parse_id(ident, TYPE)
    current = clinical.read_one(db, caller, glass, KIND, allergy_id)
    check_if_match(request, current)
    clinical.unchanged(
        {"patient": clinical.patient_of(current, "patient"), **_substance(current)},
        {"patient": clinical.patient_of(resource, "patient"), **_substance(resource)},
        TYPE,
    )
    words, severity = _reaction(resource)
    status = _status(resource)
    before = _reaction(current), _status(current)
    if before != ((words, severity), status if status is not None else before[1]):
        writes_clinical.update_allergy(
            db, caller.actor, allergy_id=allergy_id, status=status, severity=severity,
            reaction=words,
        )  # fmt: skip
    return clinical.answer(clinical.read_one(db, caller, None, KIND, allergy_id))
