"""The JSON bodies the API answers, as the OpenAPI document describes them and FastAPI
checks them (each route's ``response_model``): a route that answered something else would
fail its tests, not mislead a client.

Bodies the API builds itself refuse unknown fields (``Answer``). The chart's blocks and the
billing lines are built by the gate (:mod:`hygie.access`), which may add fields to them:
those models name the fields a client can rely on and let further ones through
(``GateItem``). Times are ISO 8601 strings as the gate writes them, never re-parsed.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

DateTime = Annotated[str, Field(json_schema_extra={"format": "date-time"})]
Date = Annotated[str, Field(json_schema_extra={"format": "date"})]


class Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")


class GateItem(BaseModel):
    model_config = ConfigDict(extra="allow")


class Error(Answer):
    """Every refusal: a message for the person who sent the request, and the field at
    fault when there is one."""

    error: str
    field: str | None
    break_glass_possible: bool = Field(
        default=False, description="a 403 of the gate only: whether break-the-glass would open it"
    )


# --- health -------------------------------------------------------------------------------
class Health(Answer):
    status: str
    version: str


class Ready(Answer):
    status: str
    database: str


class NotReady(Answer):
    status: str
    reason: str


# --- sessions and tokens ------------------------------------------------------------------
class SignedIn(Answer):
    username: str
    display_name: str
    session_id: int
    csrf_token: str = Field(description="send it as X-CSRF-Token with every change")
    expires_at: DateTime
    idle_timeout_seconds: int


class Post(Answer):
    id: int
    finess: str
    name: str
    roles: list[str]


class WhoAmI(Answer):
    username: str
    how: str = Field(description="session or token")
    session_id: int | None
    token_id: int | None
    csrf_token: str | None
    expires_at: DateTime | None
    establishments: list[Post]


class SignedOut(Answer):
    signed_out: bool


class SessionLine(Answer):
    id: int
    current: bool
    created_at: DateTime
    last_seen_at: DateTime
    expires_at: DateTime
    ip: str | None
    user_agent: str | None


class Sessions(Answer):
    sessions: list[SessionLine]


class EndedOne(Answer):
    ended: list[int]


class EndedCount(Answer):
    ended: int


class TokenLine(Answer):
    id: int
    scope: str
    created_at: DateTime
    expires_at: DateTime
    last_used_at: DateTime | None


class IssuedToken(TokenLine):
    token: str = Field(description="the secret, shown this once")


class Tokens(Answer):
    tokens: list[TokenLine]


class Revoked(Answer):
    revoked: int


# --- patients: search, chart, break-the-glass, history ------------------------------------
class PatientSummary(Answer):
    id: int
    birth_name: str
    used_name: str | None
    first_name: str
    sex: str
    birth_date: Date
    identity_status: str
    establishment_ids: list[int]


class SearchResult(Answer):
    count: int
    patients: list[PatientSummary]


class IdentityBlock(GateItem):
    birth_name: str
    birth_first_names: str
    used_name: str | None
    first_name: str
    sex: str
    birth_date: Date
    birth_place_code: str | None
    identity_status: str
    nir: str | None = Field(description="masked unless the role needs it")
    deceased: bool


class ContactBlock(GateItem):
    address_line: str | None
    postal_code: str | None
    city: str | None
    phone_mobile: str | None
    phone_home: str | None
    email: str | None
    attending_physician_id: int | None


class CoverageBlock(GateItem):
    amo: list[GateItem]
    amc: list[GateItem]


class AppointmentItem(GateItem):
    id: int
    start_at: DateTime
    status: str
    practitioner_id: int
    reason: str


class StayItem(GateItem):
    id: int
    kind: str
    status: str
    start_at: DateTime
    end_at: DateTime | None


class AllergyItem(GateItem):
    substance: str
    reaction: str
    severity: str
    status: str


class ConditionItem(GateItem):
    code: str
    label: str
    status: str


class NoteItem(GateItem):
    kind: str
    written_at: DateTime
    author_id: int
    text: str


class PrescriptionItem(GateItem):
    drug: str
    dose: str
    route: str
    frequency: str
    duration_days: int
    status: str


class Chart(Answer):
    """Only the blocks the caller's roles (and care relationship) open are present; the
    others are listed in ``withheld`` with the reason."""

    patient_id: int
    basis: str | None = Field(description="what opened the clinical blocks, if any")
    identity: IdentityBlock | None = None
    contact: ContactBlock | None = None
    coverage: CoverageBlock | None = None
    appointments: list[AppointmentItem] | None = None
    stays: list[StayItem] | None = None
    allergies: list[AllergyItem] | None = None
    conditions: list[ConditionItem] | None = None
    notes: list[NoteItem] | None = None
    prescriptions: list[PrescriptionItem] | None = None
    withheld: dict[str, str] = Field(description="block -> why it is withheld")
    break_glass_possible: bool


class Grant(Answer):
    id: int
    patient_id: int
    reason_code: str
    granted_at: DateTime
    expires_at: DateTime


class HistoryLine(Answer):
    at: str = Field(description="Europe/Paris local time, YYYY-MM-DD HH:MM:SS")
    who: str
    role: str | None
    action: str
    how: str
    data: list[str]
    why: str | None
    outcome: str


class AccessHistory(Answer):
    patient_id: int
    accesses: list[HistoryLine]


class PendingGrant(Answer):
    id: int
    user_id: int
    patient_id: int
    establishment_id: int
    reason_code: str
    reason_text: str
    granted_at: DateTime
    expires_at: DateTime


class Pending(Answer):
    pending: list[PendingGrant]


class Reviewed(Answer):
    id: int
    verdict: str | None
    comment: str | None
    reviewed_at: DateTime | None


# --- writes -------------------------------------------------------------------------------
class Created(Answer):
    id: int


class CreatedPatient(Answer):
    id: int
    ipp: str
    identity_status: str
    possible_duplicates: list[int] = Field(description="ids of identities that look the same")


class ContactUpdated(Answer):
    patient_id: int
    updated: bool


class IdentityStatusSet(Answer):
    patient_id: int
    identity_status: str


class Merged(Answer):
    patient_id: int
    merged_id: int


class Changed(Answer):
    id: int


class StatusChanged(Answer):
    id: int
    status: str


class DeathDeclared(Answer):
    patient_id: int
    died_at: DateTime


class InvoiceIssued(Answer):
    number: str


class Billing(Answer):
    patient_id: int
    acts: list[GateItem]
    invoices: list[GateItem]


class AccountLine(Answer):
    username: str
    display_name: str
    active: bool
    establishment_id: int
    role: str
    valid_from: Date
    valid_until: Date | None


class Accounts(Answer):
    count: int
    accounts: list[AccountLine]


class CreatedAccount(Answer):
    username: str
    password: str | None = Field(description="the generated password, if none was given")
    totp_provisioning_uri: str
    recovery_codes: list[str]


# --- containment --------------------------------------------------------------------------
class SteppedUp(Answer):
    mfa_at: DateTime


class AlertLine(Answer):
    id: int
    at: DateTime
    username: str | None
    user_id: int | None
    establishment_id: int | None
    rule: str
    severity: str
    response: str
    summary: str
    status: str
    locked: bool
    evidence: dict[str, Any]


class Alerts(Answer):
    alerts: list[AlertLine]


class AlertClosed(Answer):
    id: int
    status: str
    comment: str | None


class Unlocked(Answer):
    username: str
    locked: bool


class NormSet(Answer):
    role: str | None
    establishment_id: int | None
    signal: str
    threshold: float
    source: str
    updated_by: str | None
    reason: str | None


class Norms(Answer):
    norms: list[NormSet]


class ExportLine(Answer):
    id: int
    requested_at: DateTime
    requested_by_id: int
    establishment_id: int
    basis: str
    start: Date | None
    end: Date | None
    practitioner_id: int | None
    categories: list[str]
    purpose: str
    patient_count: int
    bulk: bool
    status: str
    decided_by_id: int | None
    decided_at: DateTime | None
    decision_comment: str | None
    expires_at: DateTime
    downloaded_at: DateTime | None


class Exports(Answer):
    exports: list[ExportLine]
