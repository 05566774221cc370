"""The JSON bodies of the write routes. Unknown fields are refused; ids are strict integers
in the database's range; dates are ISO 8601 strings and moments must carry their time zone
(a hospital spans no zones, but a naive time is ambiguous twice a year). What a value may
be (a name, a NIR, a dose) is the services' business, not this module's."""

from __future__ import annotations

import enum
from datetime import date
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictBool, StrictInt

from hygie.models.base import (
    AllergySeverity,
    Beneficiary,
    NoteKind,
    Route,
    Sex,
)
from hygie.models.base import (
    AppointmentStatus as AppointmentStatusValue,
)
from hygie.models.base import (
    IdentityStatus as IdentityStatusValue,
)

_TEXT = 4000
_ID = Field(ge=1, le=2**31 - 1)


def one_of(values: type[enum.StrEnum], **field: Any) -> Any:
    """A string the service accepts from a closed list: the document lists the values
    (the service still checks them, with its own message)."""
    return Field(json_schema_extra={"enum": [v.value for v in values]}, **field)


class WriteBody(BaseModel):
    # Not strict as a whole: JSON has no date type, so dates come as strings.
    model_config = ConfigDict(extra="forbid")


Id = StrictInt


class ContactBody(WriteBody):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "address_line": "12 rue de la Paix",
                    "postal_code": "75002",
                    "city": "Paris",
                    "phone_mobile": "06 12 34 56 78",
                    "email": "alice.martin@example.org",
                }
            ]
        }
    )

    address_line: str | None = Field(default=None, max_length=400)
    postal_code: str | None = Field(default=None, max_length=20)
    city: str | None = Field(default=None, max_length=200)
    phone_mobile: str | None = Field(default=None, max_length=40)
    phone_home: str | None = Field(default=None, max_length=40)
    email: str | None = Field(default=None, max_length=320)


class NewPatient(WriteBody):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "establishment_id": 1,
                    "birth_name": "Durand",
                    "birth_first_names": ["Paul", "Louis"],
                    "sex": "male",
                    "birth_date": "1975-04-12",
                    "birth_place_code": "75056",
                }
            ]
        }
    )

    establishment_id: Id = _ID
    birth_name: str = Field(max_length=200)
    birth_first_names: list[str] = Field(min_length=1, max_length=10)
    sex: str = one_of(Sex, max_length=20)
    birth_date: date
    nir: str | None = Field(default=None, max_length=40)
    birth_place_code: str | None = Field(default=None, max_length=10)
    used_name: str | None = Field(default=None, max_length=200)
    used_first_name: str | None = Field(default=None, max_length=200)
    identity_status: str = one_of(IdentityStatusValue, default="provisional", max_length=20)
    contact: ContactBody | None = None
    attending_physician_id: Id | None = Field(default=None, ge=1, le=2**31 - 1)


class IdentityStatus(WriteBody):
    model_config = ConfigDict(json_schema_extra={"examples": [{"status": "validated"}]})

    status: str = one_of(IdentityStatusValue, max_length=20)


class Merge(WriteBody):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"merged_id": 2, "reason": "Doublon créé à l'accueil"}]}
    )

    merged_id: Id = _ID
    reason: str = Field(max_length=_TEXT)


class AmoCoverage(WriteBody):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "regime_code": "01",
                    "fund_code": "751",
                    "fund_name": "CPAM Paris",
                    "insured_nir": "180057505604226",
                    "beneficiary": "insured",
                    "valid_from": "2026-01-01",
                }
            ]
        }
    )

    regime_code: str = Field(max_length=10)
    fund_code: str = Field(max_length=20)
    fund_name: str = Field(max_length=200)
    insured_nir: str = Field(max_length=40)
    beneficiary: str = one_of(Beneficiary, max_length=20)
    valid_from: date
    valid_until: date | None = None


class AmcCoverage(WriteBody):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "organism_number": "775659923",
                    "organism_name": "Mutuelle Exemple",
                    "member_number": "A1234567",
                    "valid_from": "2026-01-01",
                }
            ]
        }
    )

    organism_number: str = Field(max_length=20)
    organism_name: str = Field(max_length=200)
    member_number: str = Field(max_length=40)
    valid_from: date
    valid_until: date | None = None
    third_party_payment: StrictBool = True


class Booking(WriteBody):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "establishment_id": 1,
                    "practitioner_id": 1,
                    "start_at": "2030-01-07T09:00:00+01:00",
                    "duration_min": 20,
                    "reason": "Suivi",
                }
            ]
        }
    )

    establishment_id: Id = _ID
    practitioner_id: Id = _ID
    start_at: AwareDatetime
    duration_min: Id = Field(ge=1, le=24 * 60)
    reason: str = Field(max_length=_TEXT)
    department_id: Id | None = Field(default=None, ge=1, le=2**31 - 1)


class Move(WriteBody):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"start_at": "2030-01-08T10:00:00+01:00", "note": "À la demande du patient"}
            ]
        }
    )

    start_at: AwareDatetime
    duration_min: Id | None = Field(default=None, ge=1, le=24 * 60)
    note: str | None = Field(default=None, max_length=_TEXT)


class Cancel(WriteBody):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"reason": "Empêchement du patient"}]}
    )

    reason: str = Field(max_length=_TEXT)


class AppointmentStatus(WriteBody):
    model_config = ConfigDict(json_schema_extra={"examples": [{"status": "arrived"}]})

    status: str = one_of(AppointmentStatusValue, max_length=20)
    note: str | None = Field(default=None, max_length=_TEXT)


class Admission(WriteBody):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "establishment_id": 1,
                    "department_id": 1,
                    "responsible_id": 1,
                    "at": "2026-11-20T08:30:00+01:00",
                    "reason": "Surveillance post-opératoire",
                    "bed": "12A",
                }
            ]
        }
    )

    establishment_id: Id = _ID
    department_id: Id = _ID
    responsible_id: Id = _ID
    at: AwareDatetime
    reason: str = Field(max_length=_TEXT)
    bed: str | None = Field(default=None, max_length=20)


class Transfer(WriteBody):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"department_id": 2, "at": "2026-11-21T14:00:00+01:00", "bed": "3B"}]
        }
    )

    department_id: Id = _ID
    at: AwareDatetime
    bed: str | None = Field(default=None, max_length=20)


class Discharge(WriteBody):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"at": "2026-11-22T11:00:00+01:00", "destination": "home"}]}
    )

    at: AwareDatetime
    destination: str = Field(default="home", max_length=40)


class NewAllergy(WriteBody):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "establishment_id": 1,
                    "substance": "Latex",
                    "reaction": "eczéma de contact",
                    "severity": "moderate",
                }
            ]
        }
    )

    establishment_id: Id = _ID
    substance: str = Field(max_length=200)
    reaction: str = Field(max_length=_TEXT)
    severity: str = one_of(AllergySeverity, max_length=20)
    drug_code: str | None = Field(default=None, max_length=20)


class NewCondition(WriteBody):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"establishment_id": 1, "code": "A04.7", "onset_date": "2026-11-01"}]
        }
    )

    establishment_id: Id = _ID
    code: str = Field(max_length=20)
    onset_date: date | None = None


class NewNote(WriteBody):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"establishment_id": 1, "kind": "consultation", "text": "Suivi : tout va bien."}
            ]
        }
    )

    establishment_id: Id = _ID
    kind: str = one_of(NoteKind, max_length=40)
    text: str = Field(max_length=100_000)
    encounter_id: Id | None = Field(default=None, ge=1, le=2**31 - 1)


class NewPrescription(WriteBody):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "establishment_id": 1,
                    "drug_code": "D0001",
                    "dose": "1 g",
                    "frequency": "toutes les 6 h",
                    "duration_days": 3,
                    "route": "oral",
                }
            ]
        }
    )

    establishment_id: Id = _ID
    drug_code: str = Field(max_length=20)
    dose: str = Field(max_length=200)
    frequency: str = Field(max_length=200)
    duration_days: Id = Field(ge=1, le=3650)
    route: str | None = one_of(Route, default=None, max_length=40)
    encounter_id: Id | None = Field(default=None, ge=1, le=2**31 - 1)
    allergy_override_reason: str | None = Field(default=None, max_length=_TEXT)


class Death(WriteBody):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"died_at": "2026-11-22T06:10:00+01:00", "place": "Clinique A"}]
        }
    )

    died_at: AwareDatetime
    place: str = Field(max_length=200)


class NewAct(WriteBody):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "establishment_id": 1,
                    "code": "G",
                    "performed_on": "2026-11-20",
                    "practitioner_id": 1,
                }
            ]
        }
    )

    establishment_id: Id = _ID
    code: str = Field(max_length=20)
    performed_on: date
    practitioner_id: Id = _ID
    encounter_id: Id | None = Field(default=None, ge=1, le=2**31 - 1)
    appointment_id: Id | None = Field(default=None, ge=1, le=2**31 - 1)


class NewInvoice(WriteBody):
    model_config = ConfigDict(json_schema_extra={"examples": [{"establishment_id": 1}]})

    establishment_id: Id = _ID
    act_ids: list[Id] | None = Field(default=None, max_length=500)


class NewAccount(WriteBody):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "username": "sec.new",
                    "role": "secretary",
                    "establishments": ["750000010"],
                    "display_name": "Nouvelle secrétaire",
                }
            ]
        }
    )

    username: str = Field(max_length=64)
    role: str = Field(max_length=30)
    establishments: list[str] = Field(min_length=1, max_length=50, description="FINESS")
    password: str | None = Field(default=None, max_length=1024)
    display_name: str | None = Field(default=None, max_length=200)
    rpps: str | None = Field(default=None, max_length=20)
    family_name: str | None = Field(default=None, max_length=200)
    given_name: str | None = Field(default=None, max_length=200)


class ExportBody(WriteBody):
    """An export of one establishment's patients (``hygie.access.exports``)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "establishment_id": 1, "basis": "appointments",
                    "start": "2026-12-03", "end": "2026-12-04",
                    "categories": ["identity", "contact"],
                    "purpose": "Rappel des rendez-vous de demain par SMS",
                }
            ]
        }
    )  # fmt: skip

    establishment_id: Id = Field(ge=1, le=2**31 - 1)
    basis: str = Field(
        max_length=20, json_schema_extra={"enum": ["files", "appointments", "stays"]}
    )
    categories: list[str] = Field(default_factory=list, max_length=10)
    purpose: str = Field(max_length=4000)
    start: date | None = None
    end: date | None = None
    practitioner_id: Id | None = Field(default=None, ge=1, le=2**31 - 1)


class ExportDecisionBody(WriteBody):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"comment": "Migration vers le nouveau laboratoire"}]}
    )

    comment: str = Field(max_length=4000)


class ExportDownloadBody(WriteBody):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"passphrase": "une phrase de passe assez longue"}]}
    )

    passphrase: str | None = Field(default=None, max_length=1024)
