"""What the clinical entry pages need from the gate besides the writes themselves.

- :func:`entry_form`: the patient a form is about (identity summary only, plus the active
  allergies on the prescription form) and whether the actor may record that entry, and
  in which establishment. The read is decided and recorded like any chart read; the
  write decision is a preview (the gate decides again on submit) taken with the write
  engine's own rules, so the form says what the submit will say.
- :func:`allergy_conflicts`: the patient's active allergies that concern a drug, to name
  them in the warning of a refused prescription. A read of allergies: decided (care
  relationship or break-the-glass) and recorded.
- :func:`record_condition`: a condition with its status at once (an old, resolved
  condition is recorded as resolved), in one transaction and one audit event.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from hygie.access import audit
from hygie.access.actor import Actor
from hygie.access.gateway import (
    AccessDenied,
    audit_entry,
    decide_categories,
    read_chart,
    record_refusal,
)
from hygie.access.policy import Action, Category, Decision
from hygie.access.scope import gate_transaction
from hygie.access.writes import Done, Target, _authorise, _patient, _professional, _write
from hygie.clinical import service as clinical
from hygie.db import Database
from hygie.errors import NotFoundError, ValidationError
from hygie.kit import clock
from hygie.kit.checks import check_id

# Each entry form: what it writes, and whether it goes to one establishment's file (the
# death declaration concerns the person, in every establishment).
ENTRIES: dict[str, tuple[tuple[Category, ...], bool]] = {
    "allergy": ((Category.ALLERGIES,), True),
    "condition": ((Category.CONDITIONS,), True),
    "note": ((Category.NOTES,), True),
    "prescription": ((Category.PRESCRIPTIONS,), True),
    "death": ((Category.IDENTITY, Category.CONDITIONS), False),
}


@dataclass(frozen=True)
class KnownAllergy:
    substance: str
    severity: str
    reaction: str = ""


@dataclass(frozen=True)
class EntryForm:
    """The patient of an entry form, and what the gate would say to its submit."""

    patient_id: int
    birth_name: str
    used_name: str | None
    first_name: str
    sex: str
    birth_date: date
    deceased: bool
    may_write: bool
    reason: str  # the gate's reason when it would refuse
    break_glass_possible: bool
    establishment_id: int | None  # where the entry goes (None when refused)
    allergies: tuple[KnownAllergy, ...] = ()  # active ones, on the prescription form


def entry_form(db: Database, actor: Actor, patient_id: int, *, entry: str) -> EntryForm:
    """The form's patient and the preview of the write decision (see the module)."""
    if entry not in ENTRIES:
        raise ValidationError(f"unknown entry ({', '.join(ENTRIES)})", field="entry")
    check_id(patient_id, field="patient_id")
    categories, per_file = ENTRIES[entry]
    wanted = {Category.IDENTITY} | ({Category.ALLERGIES} if entry == "prescription" else set())
    chart = read_chart(db, actor, patient_id, categories=frozenset(wanted),
                       require=frozenset({Category.IDENTITY}), action="clinical.entry_form",
                       details={"entry": entry})  # fmt: skip
    identity = chart.blocks["identity"]
    files = sorted(f["establishment_id"] for f in identity["files"])
    decision, where = _preview(db, actor, patient_id, categories, files if per_file else [None])
    allergies = tuple(
        KnownAllergy(a["substance"], a["severity"], a["reaction"])
        for a in chart.blocks.get("allergies", [])
        if a["status"] == "active"
    )
    return EntryForm(
        patient_id=patient_id, birth_name=identity["birth_name"],
        used_name=identity["used_name"], first_name=identity["first_name"],
        sex=identity["sex"], birth_date=date.fromisoformat(identity["birth_date"]),
        deceased=identity["deceased"], may_write=decision.allowed, reason=decision.reason,
        break_glass_possible=decision.break_glass_possible,
        establishment_id=where if decision.allowed else None, allergies=allergies,
    )  # fmt: skip


def _preview(
    db: Database,
    actor: Actor,
    patient_id: int,
    categories: Sequence[Category],
    places: Sequence[int | None],
) -> tuple[Decision, int | None]:
    """The write engine's decision for the first of ``places`` that allows the write (the
    actor's own establishments only), else its most useful refusal."""
    now = clock.now()
    refusal = Decision(False, "no habilitation valid today in that establishment")
    mine = [p for p in places if p is None or p in actor.establishments]
    with gate_transaction(db, actor.establishments) as session:
        for place in mine:
            decision, _scope = _authorise(session, actor, categories, Target(patient_id, place),
                                          now)  # fmt: skip
            if decision.allowed:
                return decision, place
            if place == mine[0] or decision.break_glass_possible:
                refusal = decision
    return refusal, None


@dataclass(frozen=True)
class Conflict:
    substance: str
    severity: str


def allergy_conflicts(
    db: Database, actor: Actor, *, patient_id: int, drug_code: str
) -> list[Conflict]:
    """The patient's active allergies that concern ``drug_code`` (a read of allergies)."""
    check_id(patient_id, field="patient_id")
    categories = frozenset({Category.ALLERGIES})
    with gate_transaction(db, actor.establishments) as session:
        decisions, ests = decide_categories(session, actor, patient_id, Action.READ, categories)
        decision = decisions[Category.ALLERGIES]
        if decision.allowed:
            found = _conflicts(session, patient_id, drug_code)
            audit.record(
                session,
                audit_entry(actor, scope=ests, action="allergy.conflicts", outcome="allowed",
                            level="record", patient_ids=[patient_id], categories=["allergies"],
                            record_count=1, purpose=decision.basis,
                            details={"drug_code": drug_code, "conflicts": len(found)}),
            )  # fmt: skip
            return found
    record_refusal(db, actor, action="allergy.conflicts", patient_ids=[patient_id],
                   categories=["allergies"], reason=decision.reason)  # fmt: skip
    if decision.hidden:
        raise NotFoundError(f"patient #{patient_id} does not exist", field="patient_id")
    raise AccessDenied(decision.reason, break_glass_possible=decision.break_glass_possible,
                       patient_id=patient_id)  # fmt: skip


def _conflicts(session: Session, patient_id: int, drug_code: str) -> list[Conflict]:
    return [
        Conflict(c.substance, c.severity)
        for c in clinical.allergy_conflicts(session, patient_id=patient_id, drug_code=drug_code)
    ]


def record_condition(
    db: Database,
    actor: Actor,
    *,
    patient_id: int,
    establishment_id: int,
    code: str,
    onset_date: date | None = None,
    status: str = "active",
) -> int:
    """A CIM-10 condition with its clinical status (active unless said otherwise)."""

    def perform(session: Session, t: Target) -> Done:
        author = _professional(actor)
        row = clinical.add_condition(
            session, patient_id=patient_id, establishment_id=establishment_id, code=code,
            recorded_by_id=author, onset_date=onset_date,
        )  # fmt: skip
        details: dict[str, Any] = {"condition_id": row.id}
        if status != "active":  # the new row's default
            clinical.update_condition(session, condition_id=row.id, changed_by_id=author,
                                      status=status)  # fmt: skip
            details["status"] = status
        return Done(row.id, details)

    return _write(  # type: ignore[no-any-return]
        db, actor, action="condition.add", categories=[Category.CONDITIONS],
        locate=_patient(patient_id, establishment_id), perform=perform,
    )  # fmt: skip
