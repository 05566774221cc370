"""What the stay screens show, through the gate: a unit's stays in progress (the ward list),
one stay about to be transferred or discharged, and what an admission form offers.

Units (departments) and the physicians who may be responsible for a stay are organisation
data, no patient in them: they name things inside an access recorded on its own, like
:func:`hygie.access.directory.establishments`, and are read without a trail entry — but
only in the actor's establishments where one of their roles works on stays.

Patient data is decided and recorded as the other reads are:

- ``ward``: identity summaries of the patients in one unit now (least data: no reason, no
  clinical content), in the unit's establishment if the actor's roles there may read
  identities and stays; one ``stay.list`` event naming every patient (level ``summary``).
  A unit outside the actor's establishments does not exist for them (404, recorded).
- ``current_stay``: one stay and its patient's identity summary, decided like a chart read
  of those two blocks; one ``stay.read`` event (level ``record``).
- ``admission``: a patient's identity summary and the units they may be admitted to,
  decided as the admission itself would be (writing stays); one ``stay.admission`` event.
  A refusal is recorded (``denied``) and raised before the form is even shown.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NoReturn

from sqlalchemy.orm import Session

from hygie.access import audit
from hygie.access.actor import Actor
from hygie.access.gateway import (
    AccessDenied,
    PatientSummary,
    audit_entry,
    decide_categories,
    record_refusal,
)
from hygie.access.policy import Action, Category, Decision
from hygie.access.scope import gate_transaction
from hygie.access.view_common import (
    Physician,
    establishments_allowing,
    physicians_in,
    professional_name,
    summary_of,
)
from hygie.db import Database
from hygie.errors import NotFoundError
from hygie.kit import clock
from hygie.kit.checks import check_id
from hygie.kit.time import local_date
from hygie.models import Department, Encounter, Movement
from hygie.storage import care as care_store
from hygie.storage import common
from hygie.storage import organisation as organisation_store

WARD_CATEGORIES = (Category.IDENTITY, Category.STAYS)


@dataclass(frozen=True)
class Unit:
    """A department (service, UF) of an establishment."""

    id: int
    establishment_id: int
    code: str
    name: str
    beds: int


@dataclass(frozen=True)
class Resident:
    """One line of a ward list: who, since when, with whom; never why."""

    stay_id: int
    patient: PatientSummary
    kind: str
    admitted_at: datetime
    in_unit_since: datetime
    bed: str | None
    responsible_id: int
    responsible: str


@dataclass(frozen=True)
class Ward:
    unit: Unit
    residents: list[Resident] = field(default_factory=list)


@dataclass(frozen=True)
class StayView:
    """A stay as its transfer and discharge forms show it."""

    id: int
    patient: PatientSummary
    kind: str
    status: str
    admitted_at: datetime
    unit: Unit
    in_unit_since: datetime | None
    bed: str | None
    responsible: str
    # The units of the stay's establishment, to transfer to.
    units: list[Unit] = field(default_factory=list)


@dataclass(frozen=True)
class Admission:
    patient: PatientSummary
    units: list[Unit]  # where the actor may admit the patient
    physicians: dict[int, list[Physician]]  # by establishment


def _unit(d: Department) -> Unit:
    return Unit(d.id, d.establishment_id, d.code, d.name, d.beds or 0)


def _units_in(session: Session, establishments: Iterable[int]) -> list[Unit]:
    return [
        _unit(d) for est in sorted(establishments)
        for d in organisation_store.departments(session, est)
    ]  # fmt: skip


def units(db: Database, actor: Actor) -> list[Unit]:
    """The units of the actor's establishments where their roles may read stays."""
    where = establishments_allowing(actor, Action.READ, [Category.STAYS])
    with gate_transaction(db, frozenset()) as session:  # no patient row is needed
        return _units_in(session, where)


def ward(db: Database, actor: Actor, department_id: int) -> Ward:
    """The stays in progress in one unit now, each with its patient's identity summary."""
    check_id(department_id, field="department")
    action = "stay.list"
    criteria: dict[str, Any] = {"department_id": department_id, "statuses": ["in_progress"]}
    with gate_transaction(db, frozenset()) as session:
        dept = session.get(Department, department_id)
        unit = _unit(dept) if dept is not None else None
    may = establishments_allowing(actor, Action.READ, WARD_CATEGORIES)
    if unit is None or unit.establishment_id not in actor.establishments:
        record_refusal(db, actor, action=action, patient_ids=[], categories=["stays"],
                       reason=f"no unit #{department_id} in your establishments")  # fmt: skip
        raise NotFoundError(f"unit #{department_id} does not exist", field="department")
    if unit.establishment_id not in may:
        record_refusal(db, actor, action=action, patient_ids=[], categories=["stays"],
                       reason="no role allowed to read identities and stays there")  # fmt: skip
        raise AccessDenied("your roles do not allow reading this unit's stays")
    scope = frozenset({unit.establishment_id})
    with gate_transaction(db, scope) as session:
        residents = [
            _resident(session, movement, stay, scope)
            for movement, stay in care_store.ward(session, department_id)
        ]
        named = sorted({r.patient.id for r in residents})
        audit.record(
            session,
            audit_entry(actor, scope=scope, action=action, outcome="allowed", level="summary",
                        patient_ids=named, categories=["stays"], record_count=len(residents),
                        details={"criteria": criteria, "total": len(residents)}),
        )  # fmt: skip
    return Ward(unit=unit, residents=residents)


def _resident(
    session: Session, movement: Movement, stay: Encounter, scope: frozenset[int]
) -> Resident:
    return Resident(
        stay_id=stay.id, patient=summary_of(session, stay.patient_id, scope), kind=stay.kind.value,
        admitted_at=stay.start_at, in_unit_since=movement.start_at, bed=movement.bed,
        responsible_id=stay.responsible_id, responsible=professional_name(session, stay.responsible_id),
    )  # fmt: skip


def _refuse(
    db: Database, actor: Actor, action: str, patient_id: int, decision: Decision, what: str
) -> NoReturn:
    """Record a refusal about one patient and raise it (hidden: as not found)."""
    record_refusal(db, actor, action=action, patient_ids=[patient_id],
                   categories=[c.value for c in WARD_CATEGORIES], reason=decision.reason)  # fmt: skip
    if decision.hidden:
        raise NotFoundError(f"{what} does not exist", field="patient_id")
    raise AccessDenied(decision.reason, patient_id=patient_id)


def current_stay(db: Database, actor: Actor, encounter_id: int) -> StayView:
    """One stay with its patient's identity summary, its unit now and the units of its
    establishment, decided like a chart read of identity and stays."""
    check_id(encounter_id, field="encounter_id")
    action, what = "stay.read", f"stay #{encounter_id}"
    refused: tuple[int, Decision] | None = None
    with gate_transaction(db, actor.establishments) as session:
        stay = session.get(Encounter, encounter_id)
        # A stay of an establishment where the actor holds nothing does not exist for them
        # (row-level security hides it on PostgreSQL; this says the same everywhere).
        if stay is None or stay.establishment_id not in actor.establishments:
            view = None
        else:
            decisions, _ests = decide_categories(
                session, actor, stay.patient_id, Action.READ, frozenset(WARD_CATEGORIES)
            )
            denied = [decisions[c] for c in WARD_CATEGORIES if not decisions[c].allowed]
            if denied:
                refused, view = (stay.patient_id, denied[0]), None
            else:
                view = _stay_view(session, stay)
                audit.record(
                    session,
                    audit_entry(actor, scope=frozenset({stay.establishment_id}), action=action,
                                outcome="allowed", level="record", patient_ids=[stay.patient_id],
                                categories=[c.value for c in WARD_CATEGORIES], record_count=1,
                                details={"encounter_id": encounter_id}),
                )  # fmt: skip
    if refused is not None:
        _refuse(db, actor, action, refused[0], refused[1], what)
    if view is None:
        record_refusal(db, actor, action=action, patient_ids=[], categories=["stays"],
                       reason=f"no {what}")  # fmt: skip
        raise NotFoundError(f"{what} does not exist", field="encounter_id")
    return view


def _stay_view(session: Session, stay: Encounter) -> StayView:
    scope = frozenset({stay.establishment_id})
    summary = summary_of(session, stay.patient_id, scope)
    movement = care_store.current_movement(session, stay.id)
    dept = common.get(session, Department, stay.department_id, what="department")
    return StayView(
        id=stay.id, patient=summary, kind=stay.kind.value, status=stay.status.value,
        admitted_at=stay.start_at, unit=_unit(dept),
        in_unit_since=movement.start_at if movement is not None else None,
        bed=movement.bed if movement is not None else None,
        responsible=professional_name(session, stay.responsible_id),
        units=_units_in(session, scope),
    )  # fmt: skip


def admission(
    db: Database, actor: Actor, patient_id: int, *, now: datetime | None = None
) -> Admission:
    """What the admission form of a patient offers: their identity summary, the units of
    the establishments where the actor may admit them, and those establishments'
    physicians. Decided as the admission would be; a refusal is recorded and raised."""
    check_id(patient_id, field="patient_id")
    action, what = "stay.admission", f"patient #{patient_id}"
    today = local_date(now or clock.now())
    found: Admission | None = None
    with gate_transaction(db, actor.establishments) as session:
        reads, ests = decide_categories(
            session, actor, patient_id, Action.READ, frozenset({Category.IDENTITY})
        )
        writes, _ = decide_categories(
            session, actor, patient_id, Action.WRITE, frozenset({Category.STAYS}), ests
        )
        refused = next(
            (d for d in (reads[Category.IDENTITY], writes[Category.STAYS]) if not d.allowed), None
        )
        if refused is None:
            where = establishments_allowing(
                actor, Action.WRITE, [Category.STAYS]
            ) & establishments_allowing(actor, Action.READ, [Category.IDENTITY])
            found = Admission(
                patient=summary_of(session, patient_id, where),
                units=_units_in(session, where),
                physicians={est: physicians_in(session, [est], today) for est in sorted(where)},
            )
            audit.record(
                session,
                audit_entry(actor, scope=where & ests, action=action, outcome="allowed",
                            level="summary", patient_ids=[patient_id], categories=["identity"],
                            record_count=1),
            )  # fmt: skip
    if found is None:
        # A patient who does not exist is hidden like one outside the actor's files.
        _refuse(db, actor, action, patient_id, refused or Decision(False, "no such patient",
                hidden=True), what)  # fmt: skip
    return found
