"""Reads through the gate for interfaces that ask for one thing at a time (FHIR): a page of
patients matching search parameters, with its total, and one item of a record (an allergy,
a condition, an appointment...) by its id.

Both sit on the gateway's rules: the patient search returns identity summaries only, in the
establishments where the actor may read identities; an item is read as a chart read of its
one block (:func:`hygie.access.gateway.read_chart`), so it is decided, minimised and
recorded exactly as the chart would be.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from hygie.access import audit
from hygie.access.actor import Actor
from hygie.access.gateway import (
    MIN_SEARCH_LETTERS,
    AccessDenied,
    Chart,
    PatientSummary,
    audit_entry,
    identity_scope,
    read_chart,
    record_refusal,
    summaries,
)
from hygie.access.policy import Category
from hygie.access.scope import gate_transaction
from hygie.db import Database
from hygie.errors import NotFoundError, ValidationError
from hygie.kit.checks import check_id
from hygie.kit.text import search_key
from hygie.patients.service import nir_lookup_hash
from hygie.storage import access as store
from hygie.storage import organisation as organisation_store

MAX_PAGE = 100
# The block of a chart each kind of item is found in.
ITEM_BLOCKS: dict[str, tuple[Category, str]] = {
    "allergy": (Category.ALLERGIES, "allergies"),
    "condition": (Category.CONDITIONS, "conditions"),
    "prescription": (Category.PRESCRIPTIONS, "prescriptions"),
    "note": (Category.NOTES, "notes"),
    "appointment": (Category.APPOINTMENTS, "appointments"),
    "encounter": (Category.STAYS, "stays"),
    "amo": (Category.COVERAGE, "coverage"),
    "amc": (Category.COVERAGE, "coverage"),
}


@dataclass(frozen=True)
class PatientQuery:
    """Search parameters, as typed by the caller. A search needs at least two letters of
    a name or an exact identifier: birth date or sex alone would list the whole file."""

    family: str | None = None
    given: str | None = None
    name: str | None = None
    birth_date: date | None = None
    sex: str | None = None
    nir: str | None = None
    ipp: tuple[str, str] | None = None  # (FINESS of the establishment, file number)


@dataclass(frozen=True)
class PatientPage:
    total: int
    offset: int
    patients: list[PatientSummary]


def _key(value: str | None, field: str) -> str | None:
    if value is None:
        return None
    key = search_key(value) if isinstance(value, str) else ""
    if len(key.replace(" ", "")) < MIN_SEARCH_LETTERS:
        raise ValidationError(f"type at least {MIN_SEARCH_LETTERS} letters", field=field)
    return key


def criteria_of(db_session: Any, query: PatientQuery) -> tuple[store.Criteria, dict[str, Any]]:
    """The storage criteria for ``query``, and what the trail says of them (never a NIR).
    ``db_session`` is needed for an IPP only (its establishment, by FINESS)."""
    family, name = _key(query.family, "family"), _key(query.name, "name")
    given = search_key(query.given) if query.given else None
    if query.sex is not None and query.sex not in ("female", "male", "unknown"):
        raise ValidationError("one of female, male, unknown", field="gender")
    nir_hash = nir_lookup_hash(query.nir) if query.nir is not None else None
    ipp = None
    if query.ipp is not None:
        finess, number = query.ipp
        est = organisation_store.establishment_by_finess(db_session, finess)
        ipp = (est.id if est is not None else 0, number.strip())
    if not (family or name or nir_hash or ipp):
        raise ValidationError(
            "search with at least two letters of a name (family or name) or an identifier",
            field="family",
        )
    said: dict[str, Any] = {
        "family": family, "given": given, "name": name,
        "birth_date": query.birth_date.isoformat() if query.birth_date else None,
        "sex": query.sex, "identifier": "nir" if nir_hash else (f"ipp:{query.ipp[0]}:{query.ipp[1]}" if query.ipp else None),
    }  # fmt: skip
    criteria = store.Criteria(
        family_key=family, given_key=given, any_name_key=name, birth_date=query.birth_date,
        sex=query.sex, nir_hash=nir_hash, ipp=ipp,
    )  # fmt: skip
    return criteria, {k: v for k, v in said.items() if v is not None}


def find_patients(
    db: Database,
    actor: Actor,
    query: PatientQuery,
    *,
    offset: int = 0,
    count: int = 20,
    action: str = "patient.search",
) -> PatientPage:
    """One page of identity summaries of the patients matching ``query`` in the actor's
    establishments where their roles may read identities, and how many match in all.
    Recorded as a search (level ``summary``) naming every patient returned."""
    where, count = search_scope(db, actor, offset=offset, count=count, action=action)
    with gate_transaction(db, where) as session:
        criteria, said = criteria_of(session, query)
        total, rows = store.find_in(
            session, establishment_ids=where, criteria=criteria, offset=offset, limit=count
        )
        page = PatientPage(total=total, offset=offset, patients=summaries(rows))
        audit.record(session, search_entry(actor, where, page, said, count=count, action=action))
    return page


def search_scope(
    db: Database, actor: Actor, *, offset: int, count: int, action: str
) -> tuple[frozenset[int], int]:
    """Where the actor may search patients (refused and recorded if nowhere), and the page
    size asked for, within bounds."""
    if offset < 0:
        raise ValidationError("cannot be negative", field="offset")
    count = max(0, min(int(count), MAX_PAGE))
    where = identity_scope(actor)
    if not where:
        record_refusal(db, actor, action=action, patient_ids=[], categories=["identity"],
                       reason="no role allowed to search patients")  # fmt: skip
        raise AccessDenied("your roles do not allow searching patients")
    return where, count


def search_entry(
    actor: Actor,
    where: frozenset[int],
    page: PatientPage,
    said: dict[str, Any],
    *,
    count: int,
    action: str,
) -> audit.Entry:
    """The trail's entry for a search: a summary access naming every patient returned."""
    return audit_entry(
        actor, scope=where, action=action, outcome="allowed", level="summary",
        patient_ids=[p.id for p in page.patients], categories=["identity"],
        record_count=len(page.patients),
        details={"criteria": said, "offset": page.offset, "count": count, "total": page.total},
    )  # fmt: skip


def read_item(
    db: Database, actor: Actor, *, kind: str, item_id: int, action: str
) -> tuple[Chart, dict[str, Any]]:
    """One item of a patient's record by its id: read as the chart's one block that holds
    it (decided and recorded as such), and the item itself. An item that does not exist,
    or that the actor may not see at all, is "not found"."""
    category, block = ITEM_BLOCKS[kind]
    check_id(item_id, field="id")
    with gate_transaction(db, actor.establishments) as session:
        patient_id = store.patient_of_item(session, kind, item_id)
    if patient_id is None:
        record_refusal(db, actor, action=action, patient_ids=[], categories=[category.value],
                       reason=f"no {kind} #{item_id}")  # fmt: skip
        raise NotFoundError(f"{kind} #{item_id} does not exist", field="id")
    chart = read_chart(
        db, actor, patient_id, categories=frozenset({category}),
        require=frozenset({category}), action=action, details={"item": f"{kind}/{item_id}"},
        item_id=item_id,
    )  # fmt: skip
    items = chart.blocks[block]
    if block == "coverage":
        items = items[kind]
    item = next((i for i in items if i["id"] == item_id), None)
    if item is None:  # an AMO id asked for as AMC, or the reverse
        raise NotFoundError(f"{kind} #{item_id} does not exist", field="id")
    return chart, item


def record_unserved(
    db: Database, actor: Actor, *, action: str, request_line: str, status: int
) -> None:
    """Record a request refused before it reached the gate (a parameter or a body the
    interface refused), for interfaces that record every request they serve."""
    outcome = "denied" if status in (401, 403) else "failed"
    with gate_transaction(db, actor.establishments) as session:
        audit.record(
            session,
            audit_entry(actor, action=action, outcome=outcome, reason=f"HTTP {status}",
                        details={"request": request_line[:300]}),
        )  # fmt: skip
