"""The JSON bodies of the write routes. Unknown fields are refused; ids are strict integers
in the database's range; dates are ISO 8601 strings and moments must carry their time zone
(a hospital spans no zones, but a naive time is ambiguous twice a year). What a value may
be (a name, a NIR, a dose) is the services' business, not this module's."""

from __future__ import annotations

from datetime import date

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictBool, StrictInt

_TEXT = 4000
_ID = Field(ge=1, le=2**31 - 1)


class WriteBody(BaseModel):
    # Not strict as a whole: JSON has no date type, so dates come as strings.
    model_config = ConfigDict(extra="forbid")


Id = StrictInt


class ContactBody(WriteBody):
    address_line: str | None = Field(default=None, max_length=400)
    postal_code: str | None = Field(default=None, max_length=20)
    city: str | None = Field(default=None, max_length=200)
    phone_mobile: str | None = Field(default=None, max_length=40)
    phone_home: str | None = Field(default=None, max_length=40)
    email: str | None = Field(default=None, max_length=320)


class NewPatient(WriteBody):
    establishment_id: Id = _ID
    birth_name: str = Field(max_length=200)
    birth_first_names: list[str] = Field(min_length=1, max_length=10)
    sex: str = Field(max_length=20)
    birth_date: date
    nir: str | None = Field(default=None, max_length=40)
    birth_place_code: str | None = Field(default=None, max_length=10)
    used_name: str | None = Field(default=None, max_length=200)
    used_first_name: str | None = Field(default=None, max_length=200)
    identity_status: str = Field(default="provisional", max_length=20)
    contact: ContactBody | None = None
    attending_physician_id: Id | None = Field(default=None, ge=1, le=2**31 - 1)


class IdentityStatus(WriteBody):
    status: str = Field(max_length=20)


class Merge(WriteBody):
    merged_id: Id = _ID
    reason: str = Field(max_length=_TEXT)


class AmoCoverage(WriteBody):
    regime_code: str = Field(max_length=10)
    fund_code: str = Field(max_length=20)
    fund_name: str = Field(max_length=200)
    insured_nir: str = Field(max_length=40)
    beneficiary: str = Field(max_length=20)
    valid_from: date
    valid_until: date | None = None


class AmcCoverage(WriteBody):
    organism_number: str = Field(max_length=20)
    organism_name: str = Field(max_length=200)
    member_number: str = Field(max_length=40)
    valid_from: date
    valid_until: date | None = None
    third_party_payment: StrictBool = True


class Booking(WriteBody):
    establishment_id: Id = _ID
    practitioner_id: Id = _ID
    start_at: AwareDatetime
    duration_min: Id = Field(ge=1, le=24 * 60)
    reason: str = Field(max_length=_TEXT)
    department_id: Id | None = Field(default=None, ge=1, le=2**31 - 1)


class Move(WriteBody):
    start_at: AwareDatetime
    duration_min: Id | None = Field(default=None, ge=1, le=24 * 60)
    note: str | None = Field(default=None, max_length=_TEXT)


class Cancel(WriteBody):
    reason: str = Field(max_length=_TEXT)


class AppointmentStatus(WriteBody):
    status: str = Field(max_length=20)
    note: str | None = Field(default=None, max_length=_TEXT)


class Admission(WriteBody):
    establishment_id: Id = _ID
    department_id: Id = _ID
    responsible_id: Id = _ID
    at: AwareDatetime
    reason: str = Field(max_length=_TEXT)
    bed: str | None = Field(default=None, max_length=20)


class Transfer(WriteBody):
    department_id: Id = _ID
    at: AwareDatetime
    bed: str | None = Field(default=None, max_length=20)


class Discharge(WriteBody):
    at: AwareDatetime
    destination: str = Field(default="home", max_length=40)


class NewAllergy(WriteBody):
    establishment_id: Id = _ID
    substance: str = Field(max_length=200)
    reaction: str = Field(max_length=_TEXT)
    severity: str = Field(max_length=20)
    drug_code: str | None = Field(default=None, max_length=20)


class NewCondition(WriteBody):
    establishment_id: Id = _ID
    code: str = Field(max_length=20)
    onset_date: date | None = None


class NewNote(WriteBody):
    establishment_id: Id = _ID
    kind: str = Field(max_length=40)
    text: str = Field(max_length=100_000)
    encounter_id: Id | None = Field(default=None, ge=1, le=2**31 - 1)


class NewPrescription(WriteBody):
    establishment_id: Id = _ID
    drug_code: str = Field(max_length=20)
    dose: str = Field(max_length=200)
    frequency: str = Field(max_length=200)
    duration_days: Id = Field(ge=1, le=3650)
    route: str | None = Field(default=None, max_length=40)
    encounter_id: Id | None = Field(default=None, ge=1, le=2**31 - 1)
    allergy_override_reason: str | None = Field(default=None, max_length=_TEXT)


class Death(WriteBody):
    died_at: AwareDatetime
    place: str = Field(max_length=200)


class NewAct(WriteBody):
    establishment_id: Id = _ID
    code: str = Field(max_length=20)
    performed_on: date
    practitioner_id: Id = _ID
    encounter_id: Id | None = Field(default=None, ge=1, le=2**31 - 1)
    appointment_id: Id | None = Field(default=None, ge=1, le=2**31 - 1)


class NewInvoice(WriteBody):
    establishment_id: Id = _ID
    act_ids: list[Id] | None = Field(default=None, max_length=500)


class NewAccount(WriteBody):
    username: str = Field(max_length=64)
    role: str = Field(max_length=30)
    establishments: list[str] = Field(min_length=1, max_length=50, description="FINESS")
    password: str | None = Field(default=None, max_length=1024)
    display_name: str | None = Field(default=None, max_length=200)
    rpps: str | None = Field(default=None, max_length=20)
    family_name: str | None = Field(default=None, max_length=200)
    given_name: str | None = Field(default=None, max_length=200)
