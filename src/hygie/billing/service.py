"""Billing: acts coded in CCAM or NGAP, and invoices split between the statutory insurer
(AMO), the complementary insurer (AMC) and the patient."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.orm import Session

from hygie import reference
from hygie.errors import ValidationError
from hygie.kit import clock
from hygie.kit.checks import check_day
from hygie.kit.time import local_date
from hygie.models import (
    ActSystem,
    AmcCoverage,
    AmoCoverage,
    Appointment,
    AppointmentStatus,
    BillableAct,
    Encounter,
    Establishment,
    Invoice,
    InvoiceStatus,
    Profession,
    Professional,
)
from hygie.patients.service import active_patient, check_during_life, check_registered
from hygie.storage import care as store
from hygie.storage import common
from hygie.storage import patients as patient_store

# Share of the tariff paid by the AMO: 70 % for consultations and other NGAP acts,
# 80 % for technical (CCAM) acts. The AMC pays the rest (the ticket modérateur) when the
# patient has a valid mutuelle; otherwise the patient does.
# Professionals whose acts are billed.
PERFORMERS = {Profession.PHYSICIAN, Profession.MIDWIFE, Profession.NURSE}

AMO_RATE_PERCENT = {ActSystem.NGAP: 70, ActSystem.CCAM: 80}


def record_act(
    session: Session,
    *,
    patient_id: int,
    establishment_id: int,
    code: str,
    performed_on: date,
    practitioner_id: int,
    encounter_id: int | None = None,
    appointment_id: int | None = None,
    today: date | None = None,
) -> BillableAct:
    today = today or local_date(clock.now())
    check_day(performed_on, field="performed_on")
    patient = active_patient(session, patient_id)
    common.get(
        session, Establishment, establishment_id, what="establishment", field="establishment_id"
    )
    practitioner = common.get(
        session, Professional, practitioner_id, what="practitioner", field="practitioner_id"
    )
    if practitioner.profession not in PERFORMERS:
        raise ValidationError("must be a physician, a midwife or a nurse", field="practitioner_id")
    act = reference.acts().get(code.strip().upper())
    if act is None:
        raise ValidationError(
            f"{code!r} is not a CCAM or NGAP code of the shipped list", field="code"
        )
    if not patient.birth_date <= performed_on <= today:
        raise ValidationError("must lie between the birth date and today", field="performed_on")
    check_during_life(session, patient, performed_on, field="performed_on")
    check_registered(session, patient_id=patient_id, establishment_id=establishment_id)
    if encounter_id is not None:
        encounter = common.get(
            session, Encounter, encounter_id, what="encounter", field="encounter_id"
        )
        if encounter.patient_id != patient_id:
            raise ValidationError("belongs to another patient", field="encounter_id")
        if encounter.establishment_id != establishment_id:
            raise ValidationError("belongs to another establishment", field="encounter_id")
    if appointment_id is not None:
        appointment = common.get(
            session, Appointment, appointment_id, what="appointment", field="appointment_id"
        )
        if appointment.patient_id != patient_id:
            raise ValidationError("belongs to another patient", field="appointment_id")
        if appointment.establishment_id != establishment_id:
            raise ValidationError("belongs to another establishment", field="appointment_id")
        if appointment.status not in (AppointmentStatus.ARRIVED, AppointmentStatus.DONE):
            raise ValidationError(
                f"is {appointment.status.value}: only a consultation that took place is billed",
                field="appointment_id",
            )
    return common.add(
        session,
        BillableAct(
            patient_id=patient_id,
            establishment_id=establishment_id,
            encounter_id=encounter_id,
            appointment_id=appointment_id,
            code=act.code,
            system=ActSystem(act.system),
            performed_on=performed_on,
            practitioner_id=practitioner_id,
            amount_cents=int(act.amount_eur * 100),
        ),
    )


@dataclass(frozen=True)
class Shares:
    total: int
    amo: int
    amc: int
    patient: int


def share_of_act(
    amount_cents: int, system: ActSystem, *, amo_valid: bool, amc_valid: bool
) -> tuple[int, int, int]:
    """(AMO, AMC, patient) shares of one act, in cents."""
    amo = amount_cents * AMO_RATE_PERCENT[system] // 100 if amo_valid else 0
    amc = amount_cents - amo if amo_valid and amc_valid else 0
    return amo, amc, amount_cents - amo - amc


def split(
    acts: Sequence[BillableAct], amo: Sequence[AmoCoverage], amc: Sequence[AmcCoverage]
) -> Shares:
    """Split acts between AMO, AMC and patient by the coverage valid on each act's day."""
    total = amo_total = amc_total = 0
    for act in acts:
        a, c, _ = share_of_act(
            act.amount_cents,
            act.system,
            amo_valid=_valid(amo, act.performed_on),
            amc_valid=_valid(amc, act.performed_on),
        )
        total += act.amount_cents
        amo_total += a
        amc_total += c
    return Shares(total, amo_total, amc_total, total - amo_total - amc_total)


def _valid(coverages: Sequence[AmoCoverage] | Sequence[AmcCoverage], on: date) -> bool:
    return any(
        c.valid_from <= on and (c.valid_until is None or on <= c.valid_until) for c in coverages
    )


def issue_invoice(
    session: Session,
    *,
    patient_id: int,
    establishment_id: int,
    act_ids: Sequence[int] | None = None,
    now: datetime | None = None,
) -> Invoice:
    """Invoice the patient's acts not yet invoiced in this establishment (or the ones named)."""
    now = now or clock.now()
    active_patient(session, patient_id)
    # Locking the establishment serialises invoice numbering within it.
    establishment = common.get_for_update(
        session, Establishment, establishment_id, what="establishment", field="establishment_id"
    )
    acts = store.uninvoiced_acts(
        session, patient_id=patient_id, establishment_id=establishment_id, act_ids=act_ids
    )
    if act_ids is not None and len(acts) != len(set(act_ids)):
        raise ValidationError(
            "some acts do not exist, belong elsewhere or are already invoiced", field="act_ids"
        )
    if not acts:
        raise ValidationError("there is nothing to invoice", field="act_ids")
    shares = split(
        acts,
        patient_store.amo_coverages(session, patient_id),
        patient_store.amc_coverages(session, patient_id),
    )
    prefix = f"F{establishment.finess}-{now.year}-"
    invoice = common.add(
        session,
        Invoice(
            number=f"{prefix}{store.next_invoice_sequence(session, prefix):09d}",
            patient_id=patient_id,
            establishment_id=establishment_id,
            issued_at=now,
            total_cents=shares.total,
            amo_cents=shares.amo,
            amc_cents=shares.amc,
            patient_cents=shares.patient,
            status=InvoiceStatus.ISSUED,
        ),
    )
    for act in acts:
        act.invoice_id = invoice.id
    return invoice
