"""FHIR MedicationRequest: read, search by patient, create (a prescription) and update
(stopped or completed), through the gate.

A prescription is a drug of the shipped list (Hygie's drug code, with its ATC code), a
dose (``dosageInstruction[0].text``), a route, a frequency (``timing.code.text``) and a
duration in days (``timing.repeat.boundsDuration``); the requester is the prescriber, the
writer's own Practitioner. A drug the patient is known to be allergic to is refused (409)
unless the request carries the reason to override the warning in an extension."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from hygie import reference
from hygie.access import writes, writes_clinical
from hygie.access.policy import Category
from hygie.api.deps import Db
from hygie.errors import ConflictError
from hygie.fhir import clinical
from hygie.fhir.bundle import Page
from hygie.fhir.clinical import ATC_SYSTEM, DRUG_SYSTEM, ROUTE_SYSTEM, coding, ref
from hygie.fhir.deps import Glass, Reader, Writer
from hygie.fhir.outcome import FhirError
from hygie.fhir.params import parse_id, reference_id
from hygie.fhir.spec import ResourceSpec
from hygie.fhir.versions import check_if_match
from hygie.fhir.writing import body_of

TYPE = "MedicationRequest"
OVERRIDE_EXTENSION = "https://hygie.invalid/fhir/StructureDefinition/allergy-override-reason"
UCUM = "http://unitsofmeasure.org"
DAYS = {"d": 1, "day": 1, "days": 1, "j": 1, "jour": 1, "jours": 1, "wk": 7, "week": 7,
        "weeks": 7}  # fmt: skip
# What an update may ask for: the status it has, or the end of an active prescription.
ENDINGS = ("stopped", "completed")

SPEC = ResourceSpec(
    type=TYPE,
    interactions=("read", "search-type", "create", "update"),
    versioning="versioned",
    search_params=(clinical.PATIENT_PARAM,),
    documentation=(
        "Clinical content: a care relationship or break-the-glass. medicationCodeableConcept: "
        f"a drug code of {DRUG_SYSTEM}; dosageInstruction[0]: text (the dose), route "
        f"({ROUTE_SYSTEM}, defaults to the drug's), timing.code.text (the frequency), "
        "timing.repeat.boundsDuration (the duration, in days). The requester is the "
        "writer's own Practitioner. A drug the patient is allergic to is refused (409) "
        f"unless the extension {OVERRIDE_EXTENSION} (valueString) gives the reason. An "
        f"update only stops or completes an active prescription. {clinical.CREATE_NOTE}"
    ),
)

router = APIRouter()
# The resource a create or update sends (parsed and checked before the route runs).
Body = Annotated[dict[str, Any], Depends(body_of(TYPE))]


def to_resource(item: dict[str, Any], patient_id: int) -> dict[str, Any]:
    """A prescription of the chart's ``prescriptions`` block as a MedicationRequest."""
    medication: dict[str, Any] = {
        "coding": [coding(DRUG_SYSTEM, item["drug_code"], item["drug"])],
        "text": item["drug"],
    }
    drug = reference.drugs().get(item["drug_code"])
    if drug is not None and drug.atc:
        medication["coding"].append(coding(ATC_SYSTEM, drug.atc))
    resource: dict[str, Any] = {
        "resourceType": TYPE, "id": str(item["id"]), "status": item["status"],
        "intent": "order", "medicationCodeableConcept": medication,
        "subject": ref("Patient", patient_id),
    }  # fmt: skip
    if item["encounter_id"]:
        resource["encounter"] = ref("Encounter", item["encounter_id"])
    resource["authoredOn"] = item["prescribed_at"]
    resource["requester"] = ref("Practitioner", item["prescriber_id"])
    resource["dosageInstruction"] = [
        {
            "text": item["dose"],
            "timing": {
                "code": {"text": item["frequency"]},
                "repeat": {"boundsDuration": {"value": item["duration_days"], "unit": "d",
                                              "system": UCUM, "code": "d"}},
            },
            "route": {"coding": [coding(ROUTE_SYSTEM, item["route"])], "text": item["route"]},
        }
    ]  # fmt: skip
    return resource


KIND = clinical.Kind(
    TYPE, "prescription", Category.PRESCRIPTIONS, "prescriptions", "fhir.prescription",
    to_resource,
)  # fmt: skip


def _where(element: str) -> str:
    return f"{TYPE}.{element}"


def _duration(timing: dict[str, Any]) -> int:
    bounds = (timing.get("repeat") or {}).get("boundsDuration")
    if not isinstance(bounds, dict) or bounds.get("value") is None:
        raise FhirError(422, "the duration is required (timing.repeat.boundsDuration, in days)",
                        expression=_where("dosageInstruction.timing.repeat"))  # fmt: skip
    unit = str(bounds.get("code") or bounds.get("unit") or "d").lower()
    value = bounds["value"]
    if unit not in DAYS or float(value) != int(value):
        raise FhirError(422, "the duration is a whole number of days (code d) or weeks (wk)",
                        expression=_where("dosageInstruction.timing.repeat"))  # fmt: skip
    return int(value) * DAYS[unit]


def _prescription(resource: dict[str, Any]) -> dict[str, Any]:
    """What a MedicationRequest prescribes, as the domain takes it."""
    drug_code = clinical.code_of(resource.get("medicationCodeableConcept"), DRUG_SYSTEM)
    if drug_code is None:
        raise FhirError(
            422, f"medicationCodeableConcept: a drug code of {DRUG_SYSTEM} is required",
            expression=_where("medicationCodeableConcept"),
        )  # fmt: skip
    dosage = resource.get("dosageInstruction") or []
    if len(dosage) != 1:
        raise FhirError(422, "one dosageInstruction is required",
                        expression=_where("dosageInstruction"))  # fmt: skip
    first = dosage[0]
    if not first.get("text"):
        raise FhirError(422, "the dose is required (dosageInstruction[0].text)",
                        expression=_where("dosageInstruction.text"))  # fmt: skip
    timing = first.get("timing") or {}
    frequency = clinical.text_of(timing.get("code"))
    if not frequency:
        raise FhirError(422, "the frequency is required (timing.code.text)",
                        expression=_where("dosageInstruction.timing.code"))  # fmt: skip
    route = clinical.code_of(first.get("route"), ROUTE_SYSTEM)
    if route is None and first.get("route") is not None:
        route = clinical.text_of(first["route"])
    encounter = resource.get("encounter")
    return {
        "drug_code": drug_code, "dose": str(first["text"]), "frequency": frequency,
        "duration_days": _duration(timing), "route": route,
        "encounter_id": reference_id(encounter, "Encounter", _where("encounter"))
        if encounter is not None else None,
    }  # fmt: skip


def _override(resource: dict[str, Any]) -> str | None:
    for extension in resource.get("extension") or []:
        if extension.get("url") == OVERRIDE_EXTENSION:
            return str(extension.get("valueString") or "") or None
    return None


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
    if resource.get("status") != "active" or resource.get("intent") != "order":
        raise FhirError(422, "a new prescription is status active, intent order",
                        expression=_where("status"))  # fmt: skip
    requester = resource.get("requester")
    if (
        requester is not None
        and reference_id(requester, "Practitioner", _where("requester"))
        != caller.actor.professional_id
    ):
        raise FhirError(422, "the requester is the prescriber: your own Practitioner",
                        expression=_where("requester"))  # fmt: skip
    fields = _prescription(resource)
    try:
        prescription_id = clinical.write_through_glass(
            db, caller, glass, patient_id,
            lambda: writes.prescribe(
                db, caller.actor, patient_id=patient_id, establishment_id=establishment_id,
                allergy_override_reason=_override(resource), **fields,
            ),
        )  # fmt: skip
    except ConflictError as exc:
        if exc.field != "drug_code":
            raise
        raise FhirError(
            409, f"{exc.message} (the extension {OVERRIDE_EXTENSION}, valueString)",
            expression=_where("medicationCodeableConcept"),
        ) from None  # fmt: skip
    return clinical.created(request, clinical.read_one(db, caller, None, KIND, prescription_id))


@router.put(f"/{TYPE}/{{ident}}")
def update(
    ident: str, request: Request, db: Db, caller: Writer, glass: Glass, resource: Body
) -> Response:
    prescription_id = parse_id(ident, TYPE)
    current = clinical.read_one(db, caller, glass, KIND, prescription_id)
    check_if_match(request, current)

    def fixed(r: dict[str, Any]) -> dict[str, Any]:
        requester = r.get("requester")
        return {"subject": clinical.patient_of(r, "subject"), "intent": r.get("intent"),
                "requester": reference_id(requester, "Practitioner", _where("requester"))
                if requester is not None else None, **_prescription(r)}  # fmt: skip

    clinical.unchanged(fixed(current), fixed(resource), TYPE)
    status = resource.get("status")
    if status != current["status"]:
        if status not in ENDINGS:
            raise FhirError(422, "an update only stops or completes a prescription",
                            expression=_where("status"))  # fmt: skip
        writes_clinical.end_prescription(
            db, caller.actor, prescription_id=prescription_id, status=str(status)
        )
    return clinical.answer(clinical.read_one(db, caller, None, KIND, prescription_id))
