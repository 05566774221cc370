"""Writes through the gate: every change to patient data is decided, done and recorded here.

Each public function names the data category it writes and where (the establishment); the
engine (:func:`_write`) then, in one transaction scoped to the actor's establishments:

1. locates the patient and the establishment the write concerns (an appointment or a stay
   given by id brings its own);
2. decides with :func:`hygie.access.policy.decide` for the roles the actor holds *in that
   establishment* (a physician in one clinic who is a secretary in another prescribes only
   in the first), with the care relationship or a live break-the-glass for clinical content;
3. runs the domain service and appends the audit event in the same transaction.

A refusal is recorded (``denied``) in a transaction of its own and raised as
:class:`AccessDenied`, or as "not found" when the patient lies outside the actor's
establishments. A write refused by the service itself (bad input, a conflict) changes
nothing and is recorded as ``failed`` with its message: attempts count too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from hygie.access import audit
from hygie.access.actor import Actor
from hygie.access.gateway import AccessDenied, _care_relationship, audit_entry
from hygie.access.policy import CLINICAL, Action, Category, Decision, decide
from hygie.access.scope import gate_transaction, widen_to_group
from hygie.billing import service as billing
from hygie.clinical import service as clinical
from hygie.db import Database
from hygie.errors import HygieError, NotFoundError, ValidationError
from hygie.kit import clock
from hygie.kit.checks import check_id
from hygie.models import Appointment, BillableAct, Encounter, Invoice, Role
from hygie.patients import service as patients
from hygie.scheduling import service as scheduling
from hygie.stays import service as stays
from hygie.storage import access as store
from hygie.storage import common

T = TypeVar("T")
# Entry points build contact details with this (they may not import the services).
Contact = patients.Contact


@dataclass(frozen=True)
class Target:
    """What a write concerns: a patient (None when it creates one) in an establishment
    (None: wherever the patient has a file the actor works in)."""

    patient_id: int | None
    establishment_id: int | None


@dataclass
class Done:
    """What a service returned, and what the trail should say of it."""

    value: Any
    details: dict[str, Any] = field(default_factory=dict)
    patient_ids: Sequence[int] = ()


class _Refused(Exception):
    def __init__(self, decision: Decision, patient_id: int | None) -> None:
        self.decision, self.patient_id = decision, patient_id


def _write(
    db: Database,
    actor: Actor,
    *,
    action: str,
    categories: Sequence[Category],
    locate: Callable[[Session], Target],
    perform: Callable[[Session, Target], Done],
    now: datetime | None = None,
) -> Any:
    now = now or clock.now()
    target = Target(None, None)
    try:
        with gate_transaction(db, actor.establishments) as session:
            target = locate(session)
            decision, scope = _authorise(session, actor, categories, target, now)
            if not decision.allowed:
                raise _Refused(decision, target.patient_id)
            done = perform(session, target)
            patient_ids = list(done.patient_ids) or (
                [target.patient_id] if target.patient_id else []
            )
            audit.record(
                session,
                audit_entry(actor, scope=scope, action=action, outcome="allowed", level="record",
                            patient_ids=patient_ids, categories=[c.value for c in categories],
                            record_count=len(patient_ids), purpose=decision.basis, details=done.details),
                now=now,
            )  # fmt: skip
            return done.value
    except _Refused as refused:
        _record(
            db, actor, action, "denied", refused.patient_id, categories, refused.decision.reason
        )
        if refused.decision.hidden:
            raise NotFoundError(
                f"patient #{refused.patient_id} does not exist", field="patient_id"
            ) from None
        raise AccessDenied(
            refused.decision.reason, break_glass_possible=refused.decision.break_glass_possible
        ) from None
    except HygieError as exc:
        reason = f"{exc.field}: {exc.message}" if exc.field else exc.message
        _record(db, actor, action, "failed", target.patient_id, categories, reason)
        raise


def _record(
    db: Database,
    actor: Actor,
    action: str,
    outcome: str,
    patient_id: int | None,
    categories: Sequence[Category],
    reason: str,
) -> None:
    with gate_transaction(db, actor.establishments) as session:
        audit.record(
            session,
            audit_entry(actor, action=action, outcome=outcome,
                        patient_ids=[patient_id] if patient_id else [],
                        categories=[c.value for c in categories], reason=reason[:500]),
        )  # fmt: skip


def _authorise(
    session: Session,
    actor: Actor,
    categories: Sequence[Category],
    target: Target,
    now: datetime,
) -> tuple[Decision, frozenset[int]]:
    """The decision for writing every one of ``categories`` on the target (all must be
    allowed), and the establishments it goes through."""
    patient_ests = (
        store.establishments_of(session, target.patient_id)
        if target.patient_id is not None
        else frozenset()
    )
    if target.patient_id is not None and not patient_ests & actor.establishments:
        return Decision(False, "patient outside your establishments", hidden=True), frozenset()
    if target.establishment_id is not None:
        where = frozenset({target.establishment_id})
    else:
        where = patient_ests
    roles = actor.roles_in(where)
    if not roles:
        return Decision(False, "no habilitation valid today in that establishment"), where
    relation: str | None = None
    glass = False
    if target.patient_id is not None and any(c in CLINICAL for c in categories):
        relation = _care_relationship(
            session, actor, target.patient_id, patient_ests, actor.roles_in(patient_ests), now
        )
        glass = (
            store.live_break_glass(
                session, user_id=actor.user_id, patient_id=target.patient_id, at=now
            )
            is not None
        )
    decisions = [(c, _best(roles, c, relation, glass)) for c in categories]
    refused = [d for _c, d in decisions if not d.allowed]
    if refused:
        return refused[0], where
    # A clinical basis (the care relationship) says more than "allowed by role".
    clinical_bases = [d for c, d in decisions if c in CLINICAL]
    return (clinical_bases or [decisions[0][1]])[0], where


def _best(
    roles: frozenset[Role], category: Category, relation: str | None, glass: bool
) -> Decision:
    """The decision of the first of ``roles`` that allows writing ``category``; otherwise
    a refusal, preferring one that break-the-glass can lift."""
    best = Decision(False, f"your roles may not write {category.value}")
    for role in sorted(roles):
        d = decide(role=role.value, action=Action.WRITE.value, category=category.value,
                   in_scope=True, care_relationship=relation, break_glass=glass)  # fmt: skip
        if d.allowed:
            return d
        if d.break_glass_possible or not best.break_glass_possible:
            best = d
    return best


def _patient(patient_id: int, establishment_id: int | None = None) -> Callable[[Session], Target]:
    check_id(patient_id, field="patient_id")
    if establishment_id is not None:
        check_id(establishment_id, field="establishment_id")
    return lambda _session: Target(patient_id, establishment_id)


def _professional(actor: Actor) -> int:
    """The health professional behind the account (authors of clinical entries)."""
    if actor.professional_id is None:
        raise ValidationError("this account is not linked to a health professional", field="user")
    return actor.professional_id


# --- identity, contact, coverage ----------------------------------------------------------
def create_patient(
    db: Database,
    actor: Actor,
    *,
    establishment_id: int,
    birth_name: str,
    birth_first_names: Sequence[str],
    sex: str,
    birth_date: date,
    nir: str | None = None,
    birth_place_code: str | None = None,
    used_name: str | None = None,
    used_first_name: str | None = None,
    identity_status: str = "provisional",
    contact: patients.Contact | None = None,
    attending_physician_id: int | None = None,
) -> patients.PatientCreated:
    """Create an identity and open its file in ``establishment_id``. Possible duplicates
    (same birth name, first name and date) are flagged, not refused."""
    check_id(establishment_id, field="establishment_id")

    def perform(session: Session, _t: Target) -> Done:
        created = patients.create_patient(
            session, establishment_id=establishment_id, birth_name=birth_name,
            birth_first_names=birth_first_names, sex=sex, birth_date=birth_date, nir=nir,
            birth_place_code=birth_place_code, used_name=used_name,
            used_first_name=used_first_name, identity_status=identity_status, contact=contact,
            attending_physician_id=attending_physician_id, recorded_by_id=actor.user_id,
        )  # fmt: skip
        return Done(
            created,
            {"ipp": created.ipp, "possible_duplicates": created.possible_duplicates},
            patient_ids=[created.patient.id],
        )

    categories = [Category.IDENTITY] + ([Category.CONTACT] if contact else [])
    return _write(  # type: ignore[no-any-return]
        db, actor, action="patient.create", categories=categories,
        locate=lambda _s: Target(None, establishment_id), perform=perform,
    )  # fmt: skip


def update_contact(
    db: Database, actor: Actor, *, patient_id: int, contact: patients.Contact
) -> None:
    def perform(session: Session, t: Target) -> Done:
        patients.update_contact(
            session, patient_id=patient_id, contact=contact, recorded_by_id=actor.user_id
        )
        return Done(None)

    _write(db, actor, action="patient.contact.update", categories=[Category.CONTACT],
           locate=_patient(patient_id), perform=perform)  # fmt: skip


def set_identity_status(db: Database, actor: Actor, *, patient_id: int, status: str) -> None:
    def perform(session: Session, t: Target) -> Done:
        patient = patients.set_identity_status(
            session, patient_id=patient_id, status=status, recorded_by_id=actor.user_id
        )
        return Done(None, {"identity_status": patient.identity_status.value})

    _write(db, actor, action="patient.identity_status", categories=[Category.IDENTITY],
           locate=_patient(patient_id), perform=perform)  # fmt: skip


def merge_identities(
    db: Database, actor: Actor, *, survivor_id: int, merged_id: int, reason: str
) -> None:
    """Merge a duplicate identity into the one that stays; both must be visible to the actor."""
    check_id(merged_id, field="merged_id")

    def perform(session: Session, t: Target) -> Done:
        if not store.establishments_of(session, merged_id) & actor.establishments:
            raise NotFoundError(f"patient #{merged_id} does not exist", field="merged_id")
        widen_to_group(session)  # decided; the merge moves the duplicate's rows everywhere
        patients.merge_identities(
            session, survivor_id=survivor_id, merged_id=merged_id, reason=reason,
            recorded_by_id=actor.user_id,
        )  # fmt: skip
        return Done(None, {"merged_id": merged_id}, patient_ids=[survivor_id, merged_id])

    _write(db, actor, action="patient.merge", categories=[Category.IDENTITY],
           locate=_patient(survivor_id), perform=perform)  # fmt: skip


def record_amo_coverage(db: Database, actor: Actor, *, patient_id: int, **fields: Any) -> int:
    """Record mandatory health-insurance coverage (régime obligatoire); see the service."""

    def perform(session: Session, t: Target) -> Done:
        row = patients.record_amo_coverage(session, patient_id=patient_id, **fields)
        return Done(row.id, {"coverage_id": row.id, "kind": "amo"})

    return _write(  # type: ignore[no-any-return]
        db, actor, action="coverage.record", categories=[Category.COVERAGE],
        locate=_patient(patient_id), perform=perform,
    )  # fmt: skip


def record_amc_coverage(db: Database, actor: Actor, *, patient_id: int, **fields: Any) -> int:
    """Record complementary coverage (mutuelle); see the service."""

    def perform(session: Session, t: Target) -> Done:
        row = patients.record_amc_coverage(session, patient_id=patient_id, **fields)
        return Done(row.id, {"coverage_id": row.id, "kind": "amc"})

    return _write(  # type: ignore[no-any-return]
        db, actor, action="coverage.record", categories=[Category.COVERAGE],
        locate=_patient(patient_id), perform=perform,
    )  # fmt: skip


# --- appointments and stays ---------------------------------------------------------------
def book_appointment(
    db: Database,
    actor: Actor,
    *,
    patient_id: int,
    establishment_id: int,
    practitioner_id: int,
    start_at: datetime,
    duration_min: int,
    reason: str,
    department_id: int | None = None,
    now: datetime | None = None,
) -> int:
    def perform(session: Session, t: Target) -> Done:
        row = scheduling.book_appointment(
            session, patient_id=patient_id, practitioner_id=practitioner_id,
            establishment_id=establishment_id, start_at=start_at, duration_min=duration_min,
            reason=reason, department_id=department_id, recorded_by_id=actor.user_id, now=now,
        )  # fmt: skip
        return Done(row.id, {"appointment_id": row.id})

    return _write(  # type: ignore[no-any-return]
        db, actor, action="appointment.book", categories=[Category.APPOINTMENTS],
        locate=_patient(patient_id, establishment_id), perform=perform, now=now,
    )  # fmt: skip


def _appointment(appointment_id: int) -> Callable[[Session], Target]:
    check_id(appointment_id, field="appointment_id")

    def locate(session: Session) -> Target:
        row = common.get(session, Appointment, appointment_id, what="appointment",
                         field="appointment_id")  # fmt: skip
        return Target(row.patient_id, row.establishment_id)

    return locate


def move_appointment(
    db: Database,
    actor: Actor,
    *,
    appointment_id: int,
    new_start_at: datetime,
    new_duration_min: int | None = None,
    note: str | None = None,
    now: datetime | None = None,
) -> None:
    def perform(session: Session, t: Target) -> Done:
        scheduling.move_appointment(
            session, appointment_id=appointment_id, new_start_at=new_start_at,
            new_duration_min=new_duration_min, note=note, recorded_by_id=actor.user_id, now=now,
        )  # fmt: skip
        return Done(None, {"appointment_id": appointment_id})

    _write(db, actor, action="appointment.move", categories=[Category.APPOINTMENTS],
           locate=_appointment(appointment_id), perform=perform, now=now)  # fmt: skip


def cancel_appointment(db: Database, actor: Actor, *, appointment_id: int, reason: str) -> None:
    def perform(session: Session, t: Target) -> Done:
        scheduling.cancel_appointment(
            session, appointment_id=appointment_id, reason=reason, recorded_by_id=actor.user_id
        )
        return Done(None, {"appointment_id": appointment_id})

    _write(db, actor, action="appointment.cancel", categories=[Category.APPOINTMENTS],
           locate=_appointment(appointment_id), perform=perform)  # fmt: skip


def set_appointment_status(
    db: Database,
    actor: Actor,
    *,
    appointment_id: int,
    status: str,
    note: str | None = None,
    now: datetime | None = None,
) -> None:
    """Arrived, done, no-show... as reception or the practitioner records it."""

    def perform(session: Session, t: Target) -> Done:
        row = scheduling.set_appointment_status(
            session, appointment_id=appointment_id, status=status, note=note,
            recorded_by_id=actor.user_id, now=now,
        )  # fmt: skip
        return Done(None, {"appointment_id": appointment_id, "status": row.status.value})

    _write(db, actor, action="appointment.status", categories=[Category.APPOINTMENTS],
           locate=_appointment(appointment_id), perform=perform, now=now)  # fmt: skip


def admit(
    db: Database,
    actor: Actor,
    *,
    patient_id: int,
    establishment_id: int,
    department_id: int,
    responsible_id: int,
    at: datetime,
    reason: str,
    bed: str | None = None,
    now: datetime | None = None,
) -> int:
    def perform(session: Session, t: Target) -> Done:
        stay = stays.admit(
            session, patient_id=patient_id, establishment_id=establishment_id,
            department_id=department_id, responsible_id=responsible_id, at=at, reason=reason,
            bed=bed, now=now,
        )  # fmt: skip
        return Done(stay.id, {"encounter_id": stay.id})

    return _write(  # type: ignore[no-any-return]
        db, actor, action="stay.admit", categories=[Category.STAYS],
        locate=_patient(patient_id, establishment_id), perform=perform, now=now,
    )  # fmt: skip


def _stay(encounter_id: int) -> Callable[[Session], Target]:
    check_id(encounter_id, field="encounter_id")

    def locate(session: Session) -> Target:
        row = common.get(session, Encounter, encounter_id, what="stay", field="encounter_id")
        return Target(row.patient_id, row.establishment_id)

    return locate


def transfer(
    db: Database,
    actor: Actor,
    *,
    encounter_id: int,
    department_id: int,
    at: datetime,
    bed: str | None = None,
    now: datetime | None = None,
) -> None:
    def perform(session: Session, t: Target) -> Done:
        stays.transfer(session, encounter_id=encounter_id, department_id=department_id, at=at,
                       bed=bed, now=now)  # fmt: skip
        return Done(None, {"encounter_id": encounter_id, "department_id": department_id})

    _write(db, actor, action="stay.transfer", categories=[Category.STAYS],
           locate=_stay(encounter_id), perform=perform, now=now)  # fmt: skip


def discharge(
    db: Database,
    actor: Actor,
    *,
    encounter_id: int,
    at: datetime,
    destination: str = "home",
    now: datetime | None = None,
) -> None:
    def perform(session: Session, t: Target) -> Done:
        stays.discharge(session, encounter_id=encounter_id, at=at, destination=destination, now=now)
        return Done(None, {"encounter_id": encounter_id})

    _write(db, actor, action="stay.discharge", categories=[Category.STAYS],
           locate=_stay(encounter_id), perform=perform, now=now)  # fmt: skip


# --- clinical content ---------------------------------------------------------------------
def record_allergy(
    db: Database,
    actor: Actor,
    *,
    patient_id: int,
    establishment_id: int,
    substance: str,
    reaction: str,
    severity: str,
    drug_code: str | None = None,
) -> int:
    def perform(session: Session, t: Target) -> Done:
        row = clinical.record_allergy(
            session, patient_id=patient_id, establishment_id=establishment_id,
            substance=substance, reaction=reaction, severity=severity,
            recorded_by_id=_professional(actor), drug_code=drug_code,
        )  # fmt: skip
        return Done(row.id, {"allergy_id": row.id})

    return _write(  # type: ignore[no-any-return]
        db, actor, action="allergy.record", categories=[Category.ALLERGIES],
        locate=_patient(patient_id, establishment_id), perform=perform,
    )  # fmt: skip


def add_condition(
    db: Database,
    actor: Actor,
    *,
    patient_id: int,
    establishment_id: int,
    code: str,
    onset_date: date | None = None,
) -> int:
    def perform(session: Session, t: Target) -> Done:
        row = clinical.add_condition(
            session, patient_id=patient_id, establishment_id=establishment_id, code=code,
            recorded_by_id=_professional(actor), onset_date=onset_date,
        )  # fmt: skip
        return Done(row.id, {"condition_id": row.id})

    return _write(  # type: ignore[no-any-return]
        db, actor, action="condition.add", categories=[Category.CONDITIONS],
        locate=_patient(patient_id, establishment_id), perform=perform,
    )  # fmt: skip


def write_note(
    db: Database,
    actor: Actor,
    *,
    patient_id: int,
    establishment_id: int,
    kind: str,
    text: str,
    encounter_id: int | None = None,
) -> int:
    def perform(session: Session, t: Target) -> Done:
        row = clinical.write_note(
            session, patient_id=patient_id, establishment_id=establishment_id,
            author_id=_professional(actor), kind=kind, text=text, encounter_id=encounter_id,
        )  # fmt: skip
        return Done(row.id, {"note_id": row.id})

    return _write(  # type: ignore[no-any-return]
        db, actor, action="note.write", categories=[Category.NOTES],
        locate=_patient(patient_id, establishment_id), perform=perform,
    )  # fmt: skip


def prescribe(
    db: Database,
    actor: Actor,
    *,
    patient_id: int,
    establishment_id: int,
    drug_code: str,
    dose: str,
    frequency: str,
    duration_days: int,
    route: str | None = None,
    encounter_id: int | None = None,
    allergy_override_reason: str | None = None,
) -> int:
    """Prescribe; a known allergy to the drug refuses it unless overridden with a reason."""

    def perform(session: Session, t: Target) -> Done:
        row = clinical.prescribe(
            session, patient_id=patient_id, establishment_id=establishment_id,
            prescriber_id=_professional(actor), drug_code=drug_code, dose=dose,
            frequency=frequency, duration_days=duration_days, route=route,
            encounter_id=encounter_id, allergy_override_reason=allergy_override_reason,
        )  # fmt: skip
        details: dict[str, Any] = {"prescription_id": row.id, "drug_code": drug_code}
        if allergy_override_reason:
            details["allergy_override"] = True
        return Done(row.id, details)

    return _write(  # type: ignore[no-any-return]
        db, actor, action="prescription.write", categories=[Category.PRESCRIPTIONS],
        locate=_patient(patient_id, establishment_id), perform=perform,
    )  # fmt: skip


def declare_death(
    db: Database,
    actor: Actor,
    *,
    patient_id: int,
    died_at: datetime,
    place: str,
    now: datetime | None = None,
) -> None:
    """A physician's death declaration: it closes the stay, stops prescriptions and cancels
    appointments (see the service). Clinical: it needs a care relationship."""

    def perform(session: Session, t: Target) -> Done:
        # Decided on the actor's scope; its consequences (stay closed, prescriptions stopped,
        # appointments cancelled) reach every establishment of the patient.
        widen_to_group(session)
        patients.declare_death(
            session, patient_id=patient_id, died_at=died_at, place=place,
            declared_by_id=_professional(actor), recorded_by_id=actor.user_id, now=now,
        )  # fmt: skip
        return Done(None, {"died_at": died_at.isoformat()})

    _write(db, actor, action="patient.death", categories=[Category.IDENTITY, Category.CONDITIONS],
           locate=_patient(patient_id), perform=perform, now=now)  # fmt: skip


# --- billing ------------------------------------------------------------------------------
def record_act(
    db: Database,
    actor: Actor,
    *,
    patient_id: int,
    establishment_id: int,
    code: str,
    performed_on: date,
    practitioner_id: int,
    encounter_id: int | None = None,
    appointment_id: int | None = None,
) -> int:
    def perform(session: Session, t: Target) -> Done:
        row: BillableAct = billing.record_act(
            session, patient_id=patient_id, establishment_id=establishment_id, code=code,
            performed_on=performed_on, practitioner_id=practitioner_id,
            encounter_id=encounter_id, appointment_id=appointment_id,
        )  # fmt: skip
        return Done(row.id, {"act_id": row.id, "code": row.code})

    return _write(  # type: ignore[no-any-return]
        db, actor, action="billing.act", categories=[Category.BILLING],
        locate=_patient(patient_id, establishment_id), perform=perform,
    )  # fmt: skip


def issue_invoice(
    db: Database,
    actor: Actor,
    *,
    patient_id: int,
    establishment_id: int,
    act_ids: Sequence[int] | None = None,
    now: datetime | None = None,
) -> str:
    def perform(session: Session, t: Target) -> Done:
        invoice: Invoice = billing.issue_invoice(
            session, patient_id=patient_id, establishment_id=establishment_id,
            act_ids=act_ids, now=now,
        )  # fmt: skip
        return Done(invoice.number, {"invoice_id": invoice.id, "number": invoice.number})

    return _write(  # type: ignore[no-any-return]
        db, actor, action="billing.invoice", categories=[Category.BILLING],
        locate=_patient(patient_id, establishment_id), perform=perform, now=now,
    )  # fmt: skip
