"""FHIR AuditEvent: the trail, read-only, for security officers (others are refused 403,
and the refusal is in the trail too), shaped after IHE BALP (Basic Audit Log Patterns).

Each trail event becomes one AuditEvent:
- ``type`` / ``subtype``: a FHIR interaction is ``rest`` with its restful-interaction code
  (read, search-type, create, update, operation); other accesses take the DICOM event type
  that says what they are (patient record, user authentication, audit log used, security
  alert for a break-the-glass, application activity); Hygie's own action name is always
  a subtype too, so nothing is lost;
- ``action``: C, R, U, E (reads of one record R, searches and lists E); ``outcome`` 0
  (allowed), 4 (denied or contained), 8 (the write failed);
- the user agent (BALP ``UserOauthAgent`` / information recipient): the account's name as
  identifier, its display name, its Practitioner when it is a health professional, its
  roles there, the network address, and the token or session as ``policy``;
- ``source``: Hygie, an application server; ``entity``: each patient concerned (role
  Patient) with the data categories, and the criteria of a search (role Query);
- ``purposeOfUse``: the care relationship (TREAT) or the break-the-glass (BTG)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, time
from typing import Any

import orjson
from fastapi import APIRouter, Request
from starlette.responses import Response

from hygie.access import audit_search
from hygie.access.audit_search import TrailEvent, TrailQuery
from hygie.api.deps import Db
from hygie.fhir.bundle import Page, searchset
from hygie.fhir.clinical import coding, ref
from hygie.fhir.deps import Reader
from hygie.fhir.outcome import FhirError
from hygie.fhir.params import check_known, parse_date_range, parse_id, reference_param
from hygie.fhir.spec import ResourceSpec, SearchParam
from hygie.fhir.wire import fhir_response
from hygie.kit.time import PARIS

TYPE = "AuditEvent"
DCM = "http://dicom.nema.org/resources/ontology/DCM"
EVENT_TYPE = "http://terminology.hl7.org/CodeSystem/audit-event-type"
INTERACTION = "http://hl7.org/fhir/restful-interaction"
ACTION_SYSTEM = "https://hygie.invalid/fhir/CodeSystem/audit-action"
USERNAME_SYSTEM = "https://hygie.invalid/fhir/sid/username"
PARTICIPATION = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
BALP_AGENT = "https://profiles.ihe.net/ITI/BALP/CodeSystem/UserAgentTypes"
ACT_REASON = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
ENTITY_TYPE = "http://terminology.hl7.org/CodeSystem/audit-entity-type"
OBJECT_ROLE = "http://terminology.hl7.org/CodeSystem/object-role"
SOURCE_TYPE = "http://terminology.hl7.org/CodeSystem/security-source-type"

SPEC = ResourceSpec(
    type=TYPE,
    interactions=("read", "search-type"),
    search_params=(
        SearchParam("patient", "reference", "events concerning Patient/ID"),
        SearchParam("agent", "reference", "the account: Practitioner/ID, or a username"),
        SearchParam(
            "date", "date", "day range, repeatable: eq, ge, gt, le, lt (Europe/Paris days)"
        ),
    ),
    documentation=(
        "Security officers only, in their establishments: events concerning their patients "
        "and those of accounts habilitated there; newest first. Reading the trail is itself "
        "recorded (audit.search, audit.read). Shaped after IHE BALP."
    ),
)

router = APIRouter()

# Verbs of the trail's action names (the last part) and the AuditEvent action they are.
CREATES = frozenset({"create", "record", "add", "write", "book", "admit", "act", "invoice"})
READS = frozenset({"read"})
LISTS = frozenset({"search", "list", "pending", "access_history", "everything", "billing"})
PATIENT_DATA = frozenset({
    "patient", "chart", "allergy", "condition", "prescription", "note", "appointment",
    "stay", "coverage", "billing", "read",
})  # fmt: skip
SIGN_IN = frozenset({"session", "token", "mfa", "auth", "login", "request"})
REST = {"read": "read", "search": "search-type", "create": "create", "update": "update",
        "everything": "operation"}  # fmt: skip
HL7_CREATES = frozenset({"a01", "a04"})
OUTCOMES = {"allowed": "0", "denied": "4", "contained": "4", "failed": "8"}
CARE = frozenset({"attending", "appointment", "stay", "explicit", "dispensing"})


def _dcm(code: str, display: str) -> dict[str, str]:
    return coding(DCM, code, display)


def kind_of(action: str) -> tuple[dict[str, str], list[dict[str, str]], str]:
    """The AuditEvent ``type``, ``subtype`` and ``action`` of one of the trail's actions."""
    parts = action.split(".")
    head, verb = parts[0], parts[-1]
    own = coding(ACTION_SYSTEM, action)
    if head == "fhir" and verb in REST:
        interaction = REST[verb]
        code = (
            "R" if verb == "read" else "C" if verb == "create" else "U" if verb == "update" else "E"
        )
        return (coding(EVENT_TYPE, "rest", "RESTful Operation"),
                [coding(INTERACTION, interaction), own], code)  # fmt: skip
    if head == "fhir":  # a FHIR request refused before it reached the gate
        return coding(EVENT_TYPE, "rest", "RESTful Operation"), [own], "E"
    if head == "hl7":  # an ADT message: A01 admit and A04 register create, others update
        return _dcm("110110", "Patient Record"), [own], "C" if verb in HL7_CREATES else "U"
    if action == "break_glass":
        return (_dcm("110113", "Security Alert"),
                [_dcm("110127", "Emergency Override Started"), own], "E")  # fmt: skip
    if head in ("audit", "break_glass") or action == "patient.access_history":
        code = "U" if verb == "review" else "E"
        return _dcm("110101", "Audit Log Used"), [own], code
    if head in SIGN_IN or action == "account.password_change":
        return _dcm("110114", "User Authentication"), [own], "E"
    if head in PATIENT_DATA:
        code = "C" if verb in CREATES else "R" if verb in READS else "E" if verb in LISTS else "U"
        return _dcm("110110", "Patient Record"), [own], code
    return _dcm("110100", "Application Activity"), [own], "E"


def _agent(e: TrailEvent) -> dict[str, Any]:
    who: dict[str, Any] = {}
    if e.professional_id is not None:
        who["reference"] = f"Practitioner/{e.professional_id}"
    if e.username:
        who["identifier"] = {"system": USERNAME_SYSTEM, "value": e.username}
    who["display"] = e.display_name or e.username or "system"
    agent: dict[str, Any] = {
        "type": {"coding": [coding(BALP_AGENT, "UserOauthAgent", "User OAuth Agent participant"),
                            coding(PARTICIPATION, "IRCP", "information recipient")]},
        "who": who,
        "requestor": True,
    }  # fmt: skip
    if e.role:
        agent["role"] = [{"text": role} for role in e.role.split(",")]
    policy = []
    if e.token_id is not None:
        policy.append(f"urn:hygie:token:{e.token_id}")
    if e.session_id is not None:
        policy.append(f"urn:hygie:session:{e.session_id}")
    if policy:
        agent["policy"] = policy
    if e.ip:
        agent["network"] = {"address": e.ip, "type": "2"}
    purpose = _purpose(e)
    if purpose:
        agent["purposeOfUse"] = [purpose]
    return agent


def _purpose(e: TrailEvent) -> dict[str, Any] | None:
    basis = e.purpose or ""
    if basis.startswith("break_the_glass"):
        reason = basis.partition(":")[2] or None
        concept: dict[str, Any] = {"coding": [coding(ACT_REASON, "BTG", "break the glass")]}
        if reason:
            concept["text"] = reason
        return concept
    if basis in CARE:
        return {"coding": [coding(ACT_REASON, "TREAT", "treatment")], "text": basis}
    return {"text": basis} if basis else None


def _entities(e: TrailEvent) -> list[dict[str, Any]]:
    entities: list[dict[str, Any]] = []
    for patient_id in e.patient_ids:
        entity: dict[str, Any] = {
            "what": ref("Patient", patient_id),
            "type": coding(ENTITY_TYPE, "1", "Person"),
            "role": coding(OBJECT_ROLE, "1", "Patient"),
        }
        if e.categories:
            entity["detail"] = [{"type": "categories", "valueString": ", ".join(e.categories)}]
        entities.append(entity)
    criteria = e.details.get("criteria")
    if criteria:
        entities.append({
            "type": coding(ENTITY_TYPE, "2", "System Object"),
            "role": coding(OBJECT_ROLE, "24", "Query"),
            "query": base64.b64encode(orjson.dumps(criteria)).decode(),
        })  # fmt: skip
    if not e.patient_ids and e.categories and not criteria:
        entities.append({
            "type": coding(ENTITY_TYPE, "2", "System Object"),
            "detail": [{"type": "categories", "valueString": ", ".join(e.categories)}],
        })  # fmt: skip
    return entities


def to_resource(e: TrailEvent) -> dict[str, Any]:
    """One event of the trail as a BALP-shaped AuditEvent."""
    event_type, subtype, action = kind_of(e.action)
    resource: dict[str, Any] = {
        "resourceType": TYPE, "id": str(e.id), "type": event_type, "subtype": subtype,
        "action": action, "recorded": e.at.astimezone(UTC).isoformat(),
        "outcome": OUTCOMES.get(e.outcome, "8"),
    }  # fmt: skip
    if e.reason:
        resource["outcomeDesc"] = e.reason
    purpose = _purpose(e)
    if purpose:
        resource["purposeOfEvent"] = [purpose]
    resource["agent"] = [_agent(e)]
    resource["source"] = {
        "site": "Hygie",
        "observer": {"display": "Hygie"},
        "type": [coding(SOURCE_TYPE, "4", "Application Server")],
    }
    entities = _entities(e)
    if entities:
        resource["entity"] = entities
    return resource


def _moment(day: Any) -> datetime:
    """The start of a day in Europe/Paris, in UTC."""
    return datetime.combine(day, time(), PARIS).astimezone(UTC)


def _query(request: Request) -> TrailQuery:
    check_known(request, {"patient", "agent", "date"})
    params = request.query_params
    patient = params.get("patient")
    agent = params.get("agent")
    username, professional = None, None
    if agent is not None:
        if "/" in agent:
            professional = reference_param(agent, "Practitioner", "agent")
        elif agent.strip():
            username = agent.strip()[:64]
        else:
            raise FhirError(400, "agent: a username or Practitioner/ID", expression="agent")
    start, end = (
        parse_date_range(params.getlist("date"), "date") if "date" in params else (None, None)
    )
    return TrailQuery(
        patient_id=reference_param(patient, "Patient", "patient") if patient else None,
        username=username, professional_id=professional,
        start=_moment(start) if start else None, end=_moment(end) if end else None,
    )  # fmt: skip


@router.get(f"/{TYPE}/{{ident}}")
def read(ident: str, db: Db, caller: Reader) -> Response:
    event = audit_search.read_event(db, caller.actor, parse_id(ident, TYPE))
    return fhir_response(to_resource(event))


@router.get(f"/{TYPE}")
def search(request: Request, db: Db, caller: Reader, page: Page) -> Response:
    found = audit_search.search_trail(
        db, caller.actor, _query(request), offset=page.offset, count=page.count
    )
    resources = [to_resource(e) for e in found.events]
    return fhir_response(searchset(request, resources, total=found.total, page=page))
