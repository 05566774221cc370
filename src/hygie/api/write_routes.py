"""Changes to patient data, and account management, through the gate (``access.writes``,
``access.billing``, ``access.accounts``).

A route turns the JSON body into keyword arguments and hands them, with the caller's
actor, to the gate, which decides, writes and records. Every route here changes something:
it takes ``Writer`` (a write-scoped token, or a session with its CSRF token), except the
billing and account listings, which read."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Query

from hygie.access import accounts, billing, writes
from hygie.api import responses as r
from hygie.api.deps import MAX_ID, Db, PatientId, Reader, Writer, id_param
from hygie.api.openapi import errors
from hygie.api.write_schemas import (
    Admission,
    AmcCoverage,
    AmoCoverage,
    AppointmentStatus,
    Booking,
    Cancel,
    ContactBody,
    Death,
    Discharge,
    IdentityStatus,
    Merge,
    Move,
    NewAccount,
    NewAct,
    NewAllergy,
    NewCondition,
    NewInvoice,
    NewNote,
    NewPatient,
    NewPrescription,
    Transfer,
)

patients = APIRouter(prefix="/api/patients", tags=["patients"])
appointments = APIRouter(prefix="/api/appointments", tags=["appointments"])
stays = APIRouter(prefix="/api/stays", tags=["stays"])
account_router = APIRouter(prefix="/api/accounts", tags=["accounts"])
ROUTERS = (patients, appointments, stays, account_router)

AppointmentId = Annotated[int, id_param("appointment")]
StayId = Annotated[int, id_param("stay")]


def _contact(body: ContactBody | None) -> writes.Contact | None:
    return writes.Contact(**body.model_dump()) if body is not None else None


# --- identity, contact, coverage ----------------------------------------------------------
@patients.post(
    "", status_code=201, response_model=r.CreatedPatient, responses=errors(403, 404, 409)
)
def create_patient(body: NewPatient, caller: Writer, db: Db) -> dict[str, Any]:
    """Create an identity and open its file in an establishment; possible duplicates (same
    birth name, first name and date) are returned, not refused."""
    fields = body.model_dump(exclude={"contact"})
    created = writes.create_patient(db, caller.actor, **fields, contact=_contact(body.contact))
    return {
        "id": created.patient.id,
        "ipp": created.ipp,
        "identity_status": created.patient.identity_status.value,
        "possible_duplicates": created.possible_duplicates,
    }


@patients.put(
    "/{patient_id}/contact", response_model=r.ContactUpdated, responses=errors(403, 404, 409)
)
def update_contact(
    patient_id: PatientId, body: ContactBody, caller: Writer, db: Db
) -> dict[str, Any]:
    """Replace the patient's contact details (missing fields are cleared)."""
    contact = _contact(body) or writes.Contact()
    writes.update_contact(db, caller.actor, patient_id=patient_id, contact=contact)
    return {"patient_id": patient_id, "updated": True}


@patients.post(
    "/{patient_id}/identity-status",
    response_model=r.IdentityStatusSet,
    responses=errors(403, 404, 409),
)
def identity_status(
    patient_id: PatientId, body: IdentityStatus, caller: Writer, db: Db
) -> dict[str, Any]:
    writes.set_identity_status(db, caller.actor, patient_id=patient_id, status=body.status)
    return {"patient_id": patient_id, "identity_status": body.status}


@patients.post("/{patient_id}/merge", response_model=r.Merged, responses=errors(403, 404, 409))
def merge(patient_id: PatientId, body: Merge, caller: Writer, db: Db) -> dict[str, Any]:
    """Merge the duplicate ``merged_id`` into this patient."""
    writes.merge_identities(
        db, caller.actor, survivor_id=patient_id, merged_id=body.merged_id, reason=body.reason
    )
    return {"patient_id": patient_id, "merged_id": body.merged_id}


@patients.post(
    "/{patient_id}/coverages/amo",
    status_code=201,
    response_model=r.Created,
    responses=errors(403, 404, 409),
)
def amo_coverage(
    patient_id: PatientId, body: AmoCoverage, caller: Writer, db: Db
) -> dict[str, Any]:
    new_id = writes.record_amo_coverage(
        db, caller.actor, patient_id=patient_id, **body.model_dump()
    )
    return {"id": new_id}


@patients.post(
    "/{patient_id}/coverages/amc",
    status_code=201,
    response_model=r.Created,
    responses=errors(403, 404, 409),
)
def amc_coverage(
    patient_id: PatientId, body: AmcCoverage, caller: Writer, db: Db
) -> dict[str, Any]:
    new_id = writes.record_amc_coverage(
        db, caller.actor, patient_id=patient_id, **body.model_dump()
    )
    return {"id": new_id}


# --- appointments and stays ---------------------------------------------------------------
@patients.post(
    "/{patient_id}/appointments",
    status_code=201,
    response_model=r.Created,
    responses=errors(403, 404, 409),
)
def book(patient_id: PatientId, body: Booking, caller: Writer, db: Db) -> dict[str, Any]:
    new_id = writes.book_appointment(db, caller.actor, patient_id=patient_id, **body.model_dump())
    return {"id": new_id}


@appointments.post(
    "/{appointment_id}/move", response_model=r.Changed, responses=errors(403, 404, 409)
)
def move(appointment_id: AppointmentId, body: Move, caller: Writer, db: Db) -> dict[str, Any]:
    writes.move_appointment(
        db, caller.actor, appointment_id=appointment_id, new_start_at=body.start_at,
        new_duration_min=body.duration_min, note=body.note,
    )  # fmt: skip
    return {"id": appointment_id}


@appointments.post(
    "/{appointment_id}/cancel", response_model=r.StatusChanged, responses=errors(403, 404, 409)
)
def cancel(appointment_id: AppointmentId, body: Cancel, caller: Writer, db: Db) -> dict[str, Any]:
    writes.cancel_appointment(db, caller.actor, appointment_id=appointment_id, reason=body.reason)
    return {"id": appointment_id, "status": "cancelled"}


@appointments.post(
    "/{appointment_id}/status", response_model=r.StatusChanged, responses=errors(403, 404, 409)
)
def appointment_status(
    appointment_id: AppointmentId, body: AppointmentStatus, caller: Writer, db: Db
) -> dict[str, Any]:
    writes.set_appointment_status(
        db, caller.actor, appointment_id=appointment_id, status=body.status, note=body.note
    )
    return {"id": appointment_id, "status": body.status}


@patients.post(
    "/{patient_id}/stays",
    status_code=201,
    response_model=r.Created,
    responses=errors(403, 404, 409),
)
def admit(patient_id: PatientId, body: Admission, caller: Writer, db: Db) -> dict[str, Any]:
    new_id = writes.admit(db, caller.actor, patient_id=patient_id, **body.model_dump())
    return {"id": new_id}


@stays.post("/{encounter_id}/transfer", response_model=r.Changed, responses=errors(403, 404, 409))
def transfer(encounter_id: StayId, body: Transfer, caller: Writer, db: Db) -> dict[str, Any]:
    writes.transfer(db, caller.actor, encounter_id=encounter_id, **body.model_dump())
    return {"id": encounter_id}


@stays.post(
    "/{encounter_id}/discharge", response_model=r.StatusChanged, responses=errors(403, 404, 409)
)
def discharge(encounter_id: StayId, body: Discharge, caller: Writer, db: Db) -> dict[str, Any]:
    writes.discharge(db, caller.actor, encounter_id=encounter_id, **body.model_dump())
    return {"id": encounter_id, "status": "finished"}


# --- clinical content ---------------------------------------------------------------------
@patients.post(
    "/{patient_id}/allergies",
    status_code=201,
    response_model=r.Created,
    responses=errors(403, 404, 409),
)
def allergy(patient_id: PatientId, body: NewAllergy, caller: Writer, db: Db) -> dict[str, Any]:
    return {
        "id": writes.record_allergy(db, caller.actor, patient_id=patient_id, **body.model_dump())
    }


@patients.post(
    "/{patient_id}/conditions",
    status_code=201,
    response_model=r.Created,
    responses=errors(403, 404, 409),
)
def condition(patient_id: PatientId, body: NewCondition, caller: Writer, db: Db) -> dict[str, Any]:
    return {
        "id": writes.add_condition(db, caller.actor, patient_id=patient_id, **body.model_dump())
    }


@patients.post(
    "/{patient_id}/notes",
    status_code=201,
    response_model=r.Created,
    responses=errors(403, 404, 409),
)
def note(patient_id: PatientId, body: NewNote, caller: Writer, db: Db) -> dict[str, Any]:
    return {"id": writes.write_note(db, caller.actor, patient_id=patient_id, **body.model_dump())}


@patients.post(
    "/{patient_id}/prescriptions",
    status_code=201,
    response_model=r.Created,
    responses=errors(403, 404, 409),
)
def prescription(
    patient_id: PatientId, body: NewPrescription, caller: Writer, db: Db
) -> dict[str, Any]:
    """Prescribe; a known allergy to the drug refuses it (409) unless
    ``allergy_override_reason`` says why."""
    return {"id": writes.prescribe(db, caller.actor, patient_id=patient_id, **body.model_dump())}


@patients.post(
    "/{patient_id}/death",
    status_code=201,
    response_model=r.DeathDeclared,
    responses=errors(403, 404, 409),
)
def death(patient_id: PatientId, body: Death, caller: Writer, db: Db) -> dict[str, Any]:
    writes.declare_death(
        db, caller.actor, patient_id=patient_id, died_at=body.died_at, place=body.place
    )
    return {"patient_id": patient_id, "died_at": body.died_at.isoformat()}


# --- billing ------------------------------------------------------------------------------
@patients.get("/{patient_id}/billing", response_model=r.Billing, responses=errors(403, 404))
def read_billing(patient_id: PatientId, caller: Reader, db: Db) -> dict[str, Any]:
    return asdict(billing.read_billing(db, caller.actor, patient_id))


@patients.post(
    "/{patient_id}/acts", status_code=201, response_model=r.Created, responses=errors(403, 404, 409)
)
def act(patient_id: PatientId, body: NewAct, caller: Writer, db: Db) -> dict[str, Any]:
    return {"id": writes.record_act(db, caller.actor, patient_id=patient_id, **body.model_dump())}


@patients.post(
    "/{patient_id}/invoices",
    status_code=201,
    response_model=r.InvoiceIssued,
    responses=errors(403, 404, 409),
)
def invoice(patient_id: PatientId, body: NewInvoice, caller: Writer, db: Db) -> dict[str, Any]:
    number = writes.issue_invoice(db, caller.actor, patient_id=patient_id, **body.model_dump())
    return {"number": number}


# --- accounts -----------------------------------------------------------------------------
@account_router.get("", response_model=r.Accounts, responses=errors(403))
def list_accounts(
    caller: Reader, db: Db, establishment_id: Annotated[int, Query(ge=1, le=MAX_ID)]
) -> dict[str, Any]:
    """The accounts habilitated in one establishment (IT administrator, security officer)."""
    lines = accounts.list_accounts(db, caller.actor, establishment_id=establishment_id)
    return {
        "count": len(lines),
        "accounts": [
            {**asdict(line), "valid_from": line.valid_from.isoformat(),
             "valid_until": line.valid_until.isoformat() if line.valid_until else None}
            for line in lines
        ],
    }  # fmt: skip


@account_router.post(
    "", status_code=201, response_model=r.CreatedAccount, responses=errors(403, 404, 409)
)
def create_account(body: NewAccount, caller: Writer, db: Db) -> dict[str, Any]:
    """Create an account; its holder finishes the TOTP enrolment with the provisioning URI
    (shown once, here) before the first sign-in."""
    made = accounts.create_account(db, caller.actor, **body.model_dump())
    return {
        "username": made.user.username,
        "password": made.generated_password,
        "totp_provisioning_uri": made.enrolment.uri,
        "recovery_codes": made.enrolment.recovery_codes,
    }
