"""FHIR Appointment: read, search (a patient's appointments, or a practitioner's agenda),
create (book) and update (move, cancel, status), through the gate.

Statuses: Hygie's booked, arrived, done, cancelled and no_show are FHIR's booked, arrived,
fulfilled, cancelled and noshow. The establishment an appointment belongs to is carried by
an extension (an Organization reference): FHIR's Appointment has no field for it."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from hygie.access import lists, records, writes
from hygie.api.deps import Db, Now
from hygie.auth.callers import Caller
from hygie.db import Database
from hygie.fhir.bundle import Page, searchset
from hygie.fhir.deps import Reader, Writer
from hygie.fhir.outcome import FhirError
from hygie.fhir.params import (
    check_known,
    date_params,
    parse_date_range,
    parse_id,
    reference_id,
    reference_param,
    token_list,
)
from hygie.fhir.spec import ResourceSpec, SearchParam
from hygie.fhir.versions import check_if_match, versioned
from hygie.fhir.wire import fhir_response
from hygie.fhir.writing import body_of

ESTABLISHMENT = "https://hygie.invalid/fhir/StructureDefinition/establishment"
# Hygie status -> FHIR status, and back.
TO_FHIR = {
    "booked": "booked", "arrived": "arrived", "done": "fulfilled", "cancelled": "cancelled",
    "no_show": "noshow",
}  # fmt: skip
FROM_FHIR = {fhir: hygie for hygie, fhir in TO_FHIR.items()}

SPEC = ResourceSpec(
    type="Appointment",
    interactions=("read", "search-type", "create", "update"),
    versioning="versioned",
    search_params=(
        SearchParam("patient", "reference", "Patient/ID: that patient's appointments"),
        SearchParam("practitioner", "reference", "Practitioner/ID: that practitioner's agenda"),
        SearchParam(
            "date",
            "date",
            "day of the start (Europe/Paris), prefixes eq, ge, gt, le, lt, repeatable",
        ),
        SearchParam(
            "status", "token", "booked, arrived, fulfilled, cancelled, noshow (comma: any of)"
        ),
    ),
    documentation=(
        "A search needs patient or practitioner. Create books an appointment (status booked, "
        "participants Patient and Practitioner, start and end or minutesDuration, reasonCode "
        f"text; the establishment as the extension {ESTABLISHMENT} unless the account works "
        "in one establishment only). Update moves it (start, end), cancels it (status "
        "cancelled with cancelationReason.text), or records arrived / fulfilled / noshow; "
        "one change at a time; If-Match is honoured (412)."
    ),
)
SEARCH_PARAMS = frozenset(p.name for p in SPEC.search_params)

router = APIRouter()
# The resource a create or update sends (parsed and checked before the route runs).
Body = Annotated[dict[str, Any], Depends(body_of("Appointment"))]


def _ref(kind: str, ident: int) -> dict[str, str]:
    return {"reference": f"{kind}/{ident}"}


def to_resource(item: dict[str, Any], patient_id: int) -> dict[str, Any]:
    """An appointment of the chart's ``appointments`` block as a FHIR Appointment."""
    start = datetime.fromisoformat(item["start_at"])
    end = start + timedelta(minutes=item["duration_min"])
    status = TO_FHIR[item["status"]]
    attended = "declined" if status in ("cancelled", "noshow") else "accepted"
    resource: dict[str, Any] = {
        "resourceType": "Appointment",
        "id": str(item["id"]),
        "extension": [
            {"url": ESTABLISHMENT, "valueReference": _ref("Organization", item["establishment_id"])}
        ],
        "status": status,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "minutesDuration": item["duration_min"],
        "participant": [
            {"actor": _ref("Patient", patient_id), "required": "required", "status": attended},
            {"actor": _ref("Practitioner", item["practitioner_id"]), "required": "required",
             "status": "accepted"},
        ],
    }  # fmt: skip
    if item.get("reason"):
        resource["reasonCode"] = [{"text": item["reason"]}]
    return resource


def _read(db: Database, caller: Caller, appointment_id: int) -> dict[str, Any]:
    chart, item = records.read_item(
        db, caller.actor, kind="appointment", item_id=appointment_id,
        action="fhir.appointment.read",
    )  # fmt: skip
    return to_resource(item, chart.patient_id)


@router.get("/Appointment/{ident}")
def read(ident: str, db: Db, caller: Reader) -> Response:
    body, headers = versioned(_read(db, caller, parse_id(ident, "Appointment")))
    return fhir_response(body, headers=headers)


@router.get("/Appointment")
def search(
    request: Request,
    db: Db,
    caller: Reader,
    page: Page,
    patient: Annotated[str | None, Query(max_length=200)] = None,
    practitioner: Annotated[str | None, Query(max_length=200)] = None,
    status: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    check_known(request, SEARCH_PARAMS)
    dates = date_params(request)
    if patient is None and practitioner is None:
        raise FhirError(
            400, "search appointments by patient or by practitioner", expression="patient"
        )
    start, end = parse_date_range(dates, "date")
    filters = lists.Filters(
        patient_id=reference_param(patient, "Patient", "patient") if patient else None,
        practitioner_id=(
            reference_param(practitioner, "Practitioner", "practitioner") if practitioner else None
        ),
        start=start, end=end, statuses=token_list(status, FROM_FHIR, "status"),
    )  # fmt: skip
    found = lists.appointments(
        db, caller.actor, filters, offset=page.offset, count=page.count,
        action="fhir.appointment.search",
    )  # fmt: skip
    resources = [to_resource(item, pid) for pid, item in found.items]
    return fhir_response(searchset(request, resources, total=found.total, page=page))


def _actor_of(resource: dict[str, Any], kind: str) -> int | None:
    """The id of the participant of type ``kind`` (one at most)."""
    found = []
    for p in resource.get("participant") or []:
        ref = (p.get("actor") or {}).get("reference")
        if isinstance(ref, str) and ref.rstrip("/").split("/")[-2:-1] == [kind]:
            found.append(reference_id(p["actor"], kind, "Appointment.participant.actor"))
    if len(found) > 1:
        raise FhirError(
            422, f"one {kind} participant at most", expression="Appointment.participant"
        )
    return found[0] if found else None


def _moment(value: Any, expression: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise FhirError(422, "expected an instant with its time zone", expression=expression)
    return moment


def _duration(resource: dict[str, Any], start: datetime) -> int:
    minutes = resource.get("minutesDuration")
    if resource.get("end") is not None:
        span = _moment(resource["end"], "Appointment.end") - start
        from_end = int(span.total_seconds() // 60)
        if span.total_seconds() % 60 or (minutes is not None and minutes != from_end):
            raise FhirError(
                422, "end must be start plus minutesDuration, in whole minutes",
                expression="Appointment.end",
            )  # fmt: skip
        return from_end
    if not isinstance(minutes, int):
        raise FhirError(422, "end or minutesDuration is required", expression="Appointment.end")
    return minutes


def _reason(resource: dict[str, Any]) -> str | None:
    codes = resource.get("reasonCode") or []
    return (codes[0].get("text") if codes else None) or resource.get("description")


def _establishment(caller: Caller, resource: dict[str, Any]) -> int:
    for ext in resource.get("extension") or []:
        if ext.get("url") == ESTABLISHMENT:
            return reference_id(ext.get("valueReference"), "Organization", "Appointment.extension")
    mine = sorted(caller.actor.establishments)
    if len(mine) != 1:
        raise FhirError(
            422, f"the establishment is required (extension {ESTABLISHMENT}, an Organization "
            "reference): your account works in several establishments",
            expression="Appointment.extension",
        )  # fmt: skip
    return mine[0]


@router.post("/Appointment")
def create(request: Request, db: Db, caller: Writer, at: Now, resource: Body) -> Response:
    if resource.get("status") != "booked":
        raise FhirError(422, "a new appointment is booked", expression="Appointment.status")
    patient_id = _actor_of(resource, "Patient")
    practitioner_id = _actor_of(resource, "Practitioner")
    if patient_id is None or practitioner_id is None:
        raise FhirError(
            422, "participants Patient/ID and Practitioner/ID are required",
            expression="Appointment.participant",
        )  # fmt: skip
    start = _moment(resource.get("start"), "Appointment.start")
    reason = _reason(resource)
    if not reason:
        raise FhirError(422, "reasonCode text is required", expression="Appointment.reasonCode")
    appointment_id = writes.book_appointment(
        db, caller.actor, patient_id=patient_id, establishment_id=_establishment(caller, resource),
        practitioner_id=practitioner_id, start_at=start, duration_min=_duration(resource, start),
        reason=reason, now=at,
    )  # fmt: skip
    body, headers = versioned(_read(db, caller, appointment_id))
    base = f"{request.url.scheme}://{request.url.netloc}/fhir"
    headers["Location"] = f"{base}/Appointment/{appointment_id}"
    return fhir_response(body, status=201, headers=headers)


def _unchanged(current: dict[str, Any], sent: dict[str, Any], caller: Caller) -> None:
    """What an update cannot change: the patient, the practitioner, the establishment, the
    reason (left out of the body: kept)."""
    checks = [
        ("Patient", _actor_of(sent, "Patient"), _actor_of(current, "Patient")),
        ("Practitioner", _actor_of(sent, "Practitioner"), _actor_of(current, "Practitioner")),
    ]
    for kind, new, old in checks:
        if new is not None and new != old:
            raise FhirError(
                422, f"the {kind} of an appointment does not change: cancel and book again",
                expression="Appointment.participant",
            )  # fmt: skip
    names_place = any(e.get("url") == ESTABLISHMENT for e in sent.get("extension") or [])
    if names_place and _establishment(caller, sent) != _establishment(caller, current):
        raise FhirError(
            422, "the establishment of an appointment does not change",
            expression="Appointment.extension",
        )  # fmt: skip
    reason = _reason(sent)
    if reason is not None and reason != _reason(current):
        raise FhirError(
            422, "the reason of an appointment does not change",
            expression="Appointment.reasonCode",
        )  # fmt: skip


@router.put("/Appointment/{ident}")
def update(ident: str, request: Request, db: Db, caller: Writer, at: Now, sent: Body) -> Response:
    appointment_id = parse_id(ident, "Appointment")
    current = _read(db, caller, appointment_id)
    check_if_match(request, current)
    _unchanged(current, sent, caller)
    start = _moment(sent.get("start"), "Appointment.start")
    duration = _duration(sent, start)
    moved = start != datetime.fromisoformat(current["start"]) or (
        duration != current["minutesDuration"]
    )
    status = sent.get("status")
    if status != current["status"] and moved:
        raise FhirError(
            422, "change the time or the status, one at a time", expression="Appointment.status"
        )
    if moved:
        writes.move_appointment(
            db, caller.actor, appointment_id=appointment_id, new_start_at=start,
            new_duration_min=duration, now=at,
        )  # fmt: skip
    elif status == "cancelled" and current["status"] != "cancelled":
        why = (sent.get("cancelationReason") or {}).get("text")
        if not why:
            raise FhirError(
                422, "cancelling needs cancelationReason.text",
                expression="Appointment.cancelationReason",
            )  # fmt: skip
        writes.cancel_appointment(db, caller.actor, appointment_id=appointment_id, reason=why)
    elif status != current["status"]:
        if status not in FROM_FHIR:
            raise FhirError(
                422, f"status must be one of {', '.join(FROM_FHIR)}",
                expression="Appointment.status",
            )  # fmt: skip
        writes.set_appointment_status(
            db, caller.actor, appointment_id=appointment_id, status=FROM_FHIR[str(status)], now=at
        )
    body, headers = versioned(_read(db, caller, appointment_id))
    return fhir_response(body, headers=headers)
