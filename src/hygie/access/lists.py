"""Lists through the gate, for interfaces that search (FHIR): appointments (a patient's, or a
practitioner's agenda across patients) and stays, filtered by day and status, one page at a
time with the total.

Decided as the gate decides: a list across patients covers only the actor's establishments
where one of their roles may read that category; a list of one patient goes through the same
decision as a chart read of that block (:func:`hygie.access.gateway._decide`) — a patient
outside the actor's establishments is hidden (an empty list, the refusal recorded), a role
that may not read the category is refused (403, recorded). Each call records one event in
the transaction that reads, naming every patient returned: level ``summary`` for a list
across patients, ``record`` for a patient's own list; the criteria in the details.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from hygie.access import audit
from hygie.access.actor import Actor
from hygie.access.gateway import AccessDenied, audit_entry, decide_categories, record_refusal
from hygie.access.policy import Action, Category, Decision, decide
from hygie.access.scope import gate_transaction
from hygie.db import Database
from hygie.errors import ValidationError
from hygie.kit.checks import check_id
from hygie.kit.time import paris_midnight
from hygie.models import AppointmentStatus, EncounterStatus
from hygie.storage import lists as store

MAX_PAGE = 100


@dataclass(frozen=True)
class Filters:
    """What a list may be narrowed to. Days are Paris calendar days: ``start`` included,
    ``end`` excluded; ``statuses`` are Hygie's status values."""

    patient_id: int | None = None
    practitioner_id: int | None = None
    start: date | None = None
    end: date | None = None
    statuses: tuple[str, ...] = ()


@dataclass(frozen=True)
class ItemPage:
    total: int
    offset: int
    # (patient id, the item as the chart's block shows it)
    items: list[tuple[int, dict[str, Any]]] = field(default_factory=list)


S = TypeVar("S", bound=StrEnum)


def _statuses(values: Sequence[str], kind: type[S]) -> list[S]:
    try:
        return [kind(v) for v in values]
    except ValueError:
        allowed = ", ".join(s.value for s in kind)
        raise ValidationError(f"unknown status (one of {allowed})", field="status") from None


def _where(actor: Actor, category: Category) -> frozenset[int]:
    """The actor's establishments where one of their roles may read ``category``."""
    return frozenset(
        est for est, roles in actor.roles.items()
        if any(decide(role=r.value, action="read", category=category.value, in_scope=True,
                      care_relationship=None, break_glass=False).allowed for r in roles)
    )  # fmt: skip


def _said(filters: Filters) -> dict[str, Any]:
    said = {
        "patient_id": filters.patient_id, "practitioner_id": filters.practitioner_id,
        "start": filters.start.isoformat() if filters.start else None,
        "end": filters.end.isoformat() if filters.end else None,
        "statuses": list(filters.statuses) or None,
    }  # fmt: skip
    return {k: v for k, v in said.items() if v is not None}


Query = Callable[[Session, frozenset[int], int, int], tuple[int, Sequence[Any]]]


def _list(
    db: Database,
    actor: Actor,
    *,
    category: Category,
    filters: Filters,
    query: Query,
    shape: Callable[[Any], dict[str, Any]],
    offset: int,
    count: int,
    action: str,
) -> ItemPage:
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise ValidationError("cannot be negative", field="offset")
    count = max(0, min(int(count), MAX_PAGE))
    if filters.patient_id is not None:
        check_id(filters.patient_id, field="patient")
    if filters.practitioner_id is not None:
        check_id(filters.practitioner_id, field="practitioner")
    where = _where(actor, category)
    if filters.patient_id is None and not where:
        record_refusal(
            db, actor, action=action, patient_ids=[], categories=[category.value],
            reason=f"no role allowed to read {category.value}",
        )  # fmt: skip
        raise AccessDenied(f"your roles do not allow reading {category.value}")
    refused: tuple[int, Decision] | None = None
    # One transaction decides (for a patient), reads and records.
    with gate_transaction(db, actor.establishments) as session:
        level = "summary"
        if filters.patient_id is not None:
            decisions, ests = decide_categories(
                session, actor, filters.patient_id, Action.READ, frozenset({category})
            )
            if decisions[category].allowed:
                where, level = where & ests, "record"
            else:
                refused = (filters.patient_id, decisions[category])
        if refused is None:
            total, rows = query(session, where, offset, count)
            items = [(row.patient_id, shape(row)) for row in rows]
            audit.record(
                session,
                audit_entry(actor, scope=where, action=action, outcome="allowed", level=level,
                            patient_ids=sorted({pid for pid, _ in items}),
                            categories=[category.value], record_count=len(items),
                            details={"criteria": _said(filters), "offset": offset,
                                     "count": count, "total": total}),
            )  # fmt: skip
    if refused is not None:
        patient_id, decision = refused
        record_refusal(
            db, actor, action=action, patient_ids=[patient_id], categories=[category.value],
            reason=decision.reason,
        )  # fmt: skip
        if decision.hidden:  # outside the actor's establishments: nothing to show
            return ItemPage(total=0, offset=offset)
        raise AccessDenied(decision.reason, patient_id=patient_id)
    return ItemPage(total=total, offset=offset, items=items)


def appointment_item(a: Any) -> dict[str, Any]:
    """An appointment as the chart's ``appointments`` block shows it."""
    return {
        "id": a.id, "start_at": a.start_at.isoformat(), "duration_min": a.duration_min,
        "status": a.status.value, "practitioner_id": a.practitioner_id,
        "establishment_id": a.establishment_id, "reason": a.reason,
    }  # fmt: skip


def stay_item(e: Any) -> dict[str, Any]:
    """A stay as the chart's ``stays`` block shows it."""
    return {
        "id": e.id, "kind": e.kind.value, "status": e.status.value,
        "start_at": e.start_at.isoformat(), "end_at": e.end_at.isoformat() if e.end_at else None,
        "reason": e.reason, "establishment_id": e.establishment_id,
        "department_id": e.department_id, "responsible_id": e.responsible_id,
    }  # fmt: skip


def appointments(
    db: Database,
    actor: Actor,
    filters: Filters,
    *,
    offset: int = 0,
    count: int = 20,
    action: str = "appointment.list",
) -> ItemPage:
    """Appointments matching ``filters`` (a patient's, or a practitioner's agenda), one
    page by start time, with the total."""
    statuses = _statuses(filters.statuses, AppointmentStatus)

    def query(session: Session, where: frozenset[int], skip: int, limit: int) -> Any:
        return store.appointments(
            session, establishment_ids=where, patient_id=filters.patient_id,
            practitioner_id=filters.practitioner_id, start=paris_midnight(filters.start),
            end=paris_midnight(filters.end), statuses=statuses, offset=skip, limit=limit,
        )  # fmt: skip

    return _list(
        db, actor, category=Category.APPOINTMENTS, filters=filters, query=query,
        shape=appointment_item, offset=offset, count=count, action=action,
    )  # fmt: skip


def stays(
    db: Database,
    actor: Actor,
    filters: Filters,
    *,
    offset: int = 0,
    count: int = 20,
    action: str = "stay.list",
) -> ItemPage:
    """Stays (encounters) matching ``filters`` that overlap the period, one page by start
    time, with the total. ``practitioner_id`` is not a filter of stays."""
    if filters.practitioner_id is not None:
        raise ValidationError("stays are not listed by practitioner", field="practitioner")
    statuses = _statuses(filters.statuses, EncounterStatus)

    def query(session: Session, where: frozenset[int], skip: int, limit: int) -> Any:
        return store.encounters(
            session, establishment_ids=where, patient_id=filters.patient_id,
            start=paris_midnight(filters.start), end=paris_midnight(filters.end), statuses=statuses,
            offset=skip, limit=limit,
        )  # fmt: skip

    return _list(
        db, actor, category=Category.STAYS, filters=filters, query=query, shape=stay_item,
        offset=offset, count=count, action=action,
    )  # fmt: skip
