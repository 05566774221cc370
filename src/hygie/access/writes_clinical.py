"""Changes to clinical entries already recorded, through the gate: an allergy's status,
severity or reaction, a condition's status or onset, a prescription stopped or completed.

Each runs on the write engine of :mod:`hygie.access.writes`: the entry brings its patient
and establishment, the decision is taken for the roles the actor holds there (with the
care relationship or a live break-the-glass), and the change and its audit event commit
together. The trail names the fields that changed and the new status, never free text."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from hygie.access.actor import Actor
from hygie.access.policy import Category
from hygie.access.writes import Done, Target, _professional, _write
from hygie.clinical import service as clinical
from hygie.db import Database
from hygie.kit.checks import check_id
from hygie.models import Allergy, Condition, Prescription
from hygie.storage import common

# Left out of update_condition: the onset is unchanged (None clears it).
UNCHANGED: Any = clinical.UNCHANGED


def _entry(model: type[Any], what: str, ident: int) -> Callable[[Session], Target]:
    check_id(ident, field="id")

    def locate(session: Session) -> Target:
        row = common.get(session, model, ident, what=what, field="id")
        return Target(row.patient_id, row.establishment_id)

    return locate


def update_allergy(
    db: Database,
    actor: Actor,
    *,
    allergy_id: int,
    status: str | None = None,
    severity: str | None = None,
    reaction: str | None = None,
) -> list[str]:
    """Returns the names of the fields that changed (none: nothing was written but the
    access is recorded all the same)."""

    def perform(session: Session, t: Target) -> Done:
        changed = clinical.update_allergy(
            session, allergy_id=allergy_id, changed_by_id=_professional(actor), status=status,
            severity=severity, reaction=reaction,
        )  # fmt: skip
        details: dict[str, Any] = {"allergy_id": allergy_id, "changed": changed}
        if "status" in changed:
            details["status"] = status
        return Done(changed, details)

    return _write(  # type: ignore[no-any-return]
        db, actor, action="allergy.update", categories=[Category.ALLERGIES],
        locate=_entry(Allergy, "allergy", allergy_id), perform=perform,
    )  # fmt: skip


def update_condition(
    db: Database,
    actor: Actor,
    *,
    condition_id: int,
    status: str | None = None,
    onset_date: date | None = UNCHANGED,
) -> list[str]:
    def perform(session: Session, t: Target) -> Done:
        changed = clinical.update_condition(
            session, condition_id=condition_id, changed_by_id=_professional(actor),
            status=status, onset_date=onset_date,
        )  # fmt: skip
        details: dict[str, Any] = {"condition_id": condition_id, "changed": changed}
        if "status" in changed:
            details["status"] = status
        return Done(changed, details)

    return _write(  # type: ignore[no-any-return]
        db, actor, action="condition.update", categories=[Category.CONDITIONS],
        locate=_entry(Condition, "condition", condition_id), perform=perform,
    )  # fmt: skip


def end_prescription(db: Database, actor: Actor, *, prescription_id: int, status: str) -> bool:
    """Stop or complete a prescription; False when it already had that status."""

    def perform(session: Session, t: Target) -> Done:
        changed = clinical.end_prescription(
            session, prescription_id=prescription_id, status=status,
            changed_by_id=_professional(actor),
        )  # fmt: skip
        return Done(changed, {"prescription_id": prescription_id, "status": status,
                              "changed": changed})  # fmt: skip

    return _write(  # type: ignore[no-any-return]
        db, actor, action="prescription.status", categories=[Category.PRESCRIPTIONS],
        locate=_entry(Prescription, "prescription", prescription_id), perform=perform,
    )  # fmt: skip
