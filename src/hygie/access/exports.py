"""Exports of patient lists through the gate, with four-eyes approval of the bulk ones.

An export is a CSV file of one establishment's patients — its files, or the patients with
an appointment or a stay there in a period — with the identity and the other blocks asked
for (contact, coverage, appointments, stays), each shaped as the chart shows it (the NIR
masked for roles that do not need it). Clinical content is never exported: it is read on
one chart, with a care relationship (principle 3).

1. **Request** (``request_export``): the requester's roles in the establishment must allow
   reading every category asked for. The patient list is computed and frozen; a request of
   more than ``bulk_threshold`` patients (``HYGIE_EXPORT_BULK_THRESHOLD``, 50) is *bulk*.
2. **Approval** of a bulk request (``decide_export``): by a security officer of the
   establishment who is not the requester (four eyes). It covers exactly the frozen list
   and categories, for ``valid_for`` (``HYGIE_EXPORT_VALID_HOURS``, 24 hours).
3. **Download** (``download_export``), once, by the requester, while the request is valid:
   a bulk file is encrypted with a passphrase the requester gives (age format, scrypt:
   ``age -d`` or ``hygie export decrypt`` opens it; the server keeps neither passphrase nor
   file). The download (``export.download``) is recorded with every patient named, at
   record level.

Containment meters exports on their own norm (``export.1d``: patients exported in a day,
``detection``): a run of small exports is stopped like any harvest. An approved bulk
export is not held against its requester's norms: a second person vouched for it.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from hygie.access import audit, export_file
from hygie.access.actor import Actor
from hygie.access.detection import EXPORT_ACTION
from hygie.access.gateway import NIR_ROLES, AccessDenied, audit_entry, chart_blocks, record_refusal
from hygie.access.history import _may_audit
from hygie.access.policy import Category, decide
from hygie.access.scope import gate_transaction
from hygie.db import Database
from hygie.errors import ConfigurationError, ConflictError, NotFoundError, ValidationError
from hygie.kit import clock
from hygie.kit.checks import check_id
from hygie.kit.text import clean_text
from hygie.kit.time import PARIS, paris_midnight
from hygie.models import ExportRequest, PatientState
from hygie.storage import exports as store
from hygie.storage import patients as patient_store

EXPORTABLE = (
    Category.IDENTITY, Category.CONTACT, Category.COVERAGE, Category.APPOINTMENTS,
    Category.STAYS,
)  # fmt: skip
# The category a basis reveals by itself (being on the list says the patient came).
BASIS_CATEGORY = {"appointments": Category.APPOINTMENTS, "stays": Category.STAYS}
MIN_PURPOSE = 10  # characters of the reason for an export
MIN_PASSPHRASE = 12  # characters of the passphrase a bulk file is encrypted with
MAX_PERIOD = timedelta(days=366)
PENDING_FOR = timedelta(days=7)  # a bulk request not decided by then lapses
MAX_PATIENTS = 100_000  # past this, an export is a data migration: narrow it, or ask the operator
FIRST_YEAR, LAST_YEAR = 1900, 2200
# The roles that may ask for an export (of what their role reads): not the security
# officer (who looks patients up for their access history), not a feed's system account.
EXPORT_ROLES = frozenset({"physician", "nurse", "secretary", "billing_officer"})
MISSING = "no such export of yours"
BULK_BY_SESSION = "a bulk export is downloaded in a signed-in session, not with an API token"


@dataclass(frozen=True)
class ExportPolicy:
    bulk_threshold: int = 50
    valid_for: timedelta = timedelta(hours=24)


def policy_from_env(environ: Mapping[str, str] | None = None) -> ExportPolicy:
    """``HYGIE_EXPORT_BULK_THRESHOLD`` (patients above which four eyes are needed) and
    ``HYGIE_EXPORT_VALID_HOURS`` (how long an approval, or a small export, stays valid)."""
    env = os.environ if environ is None else environ
    default = ExportPolicy()
    return ExportPolicy(
        bulk_threshold=_whole(env, "HYGIE_EXPORT_BULK_THRESHOLD", default.bulk_threshold),
        valid_for=timedelta(hours=_whole(env, "HYGIE_EXPORT_VALID_HOURS", 24, most=24 * 30)),
    )


def _whole(env: Mapping[str, str], name: str, default: int, *, most: int = 10**9) -> int:
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= most:
        raise ConfigurationError(f"{name}: {raw!r} is not a whole number from 1 to {most}")
    return int(raw)


@dataclass(frozen=True)
class ExportSpec:
    """What an export covers. Days are Paris calendar days, ``start`` included, ``end``
    excluded; ``practitioner_id`` narrows an appointments export to one agenda."""

    establishment_id: int
    basis: str
    categories: tuple[str, ...]
    purpose: str
    start: date | None = None
    end: date | None = None
    practitioner_id: int | None = None


@dataclass(frozen=True)
class ExportLine:
    """A request as its requester and the approvers see it (no patient data)."""

    id: int
    requested_at: datetime
    requested_by_id: int
    establishment_id: int
    basis: str
    start: date | None
    end: date | None
    practitioner_id: int | None
    categories: list[str]
    purpose: str
    patient_count: int
    bulk: bool
    status: str  # ready | pending | approved | refused | downloaded | expired
    decided_by_id: int | None
    decided_at: datetime | None
    decision_comment: str | None
    expires_at: datetime
    downloaded_at: datetime | None


@dataclass(frozen=True)
class ExportFile:
    filename: str
    media_type: str
    content: bytes
    patient_count: int
    encrypted: bool


def _line(row: ExportRequest, now: datetime) -> ExportLine:
    status = row.status
    if status in ("ready", "pending", "approved") and now >= row.expires_at:
        status = "expired"
    return ExportLine(
        id=row.id, requested_at=row.requested_at, requested_by_id=row.requested_by_id,
        establishment_id=row.establishment_id, basis=row.basis, start=row.first_day, end=row.end_day,
        practitioner_id=row.practitioner_id, categories=list(row.categories),
        purpose=row.purpose, patient_count=row.patient_count, bulk=row.bulk, status=status,
        decided_by_id=row.decided_by_id, decided_at=row.decided_at,
        decision_comment=row.decision_comment, expires_at=row.expires_at,
        downloaded_at=row.downloaded_at,
    )  # fmt: skip


def _categories(spec: ExportSpec) -> list[Category]:
    """The categories asked for, checked, with the identity and the basis's own."""
    wanted: set[Category] = {Category.IDENTITY}
    for value in spec.categories:
        try:
            category = Category(value)
        except ValueError:
            category = None
        if category not in EXPORTABLE:
            allowed = ", ".join(c.value for c in EXPORTABLE)
            raise ValidationError(
                f"{value!r} cannot be exported (one of {allowed}; clinical content is read on "
                "one chart, never exported)",
                field="categories",
            )
        wanted.add(category)
    if spec.basis in BASIS_CATEGORY:
        wanted.add(BASIS_CATEGORY[spec.basis])
    return sorted(wanted, key=EXPORTABLE.index)


def _checked(spec: ExportSpec) -> tuple[list[Category], str]:
    """The spec validated: its categories and its purpose, cleaned."""
    check_id(spec.establishment_id, field="establishment")
    if spec.basis not in store.BASES:
        raise ValidationError(f"unknown basis (one of {', '.join(store.BASES)})", field="basis")
    if spec.practitioner_id is not None:
        check_id(spec.practitioner_id, field="practitioner")
        if spec.basis != "appointments":
            raise ValidationError("only an appointments export names a practitioner",
                                  field="practitioner")  # fmt: skip
    if spec.basis == "files":
        if spec.start is not None or spec.end is not None:
            raise ValidationError("an export of files covers no period", field="start")
    else:
        if spec.start is None or spec.end is None:
            raise ValidationError("an export of appointments or stays needs a start and an end",
                                  field="start")  # fmt: skip
        if not all(FIRST_YEAR <= d.year <= LAST_YEAR for d in (spec.start, spec.end)):
            raise ValidationError(f"a date from {FIRST_YEAR} to {LAST_YEAR}", field="start")
        if spec.end <= spec.start:
            raise ValidationError("the end must come after the start", field="end")
        if spec.end - spec.start > MAX_PERIOD:
            raise ValidationError("a period of at most a year", field="end")
    purpose = _reason(spec.purpose, "purpose", 500)
    return _categories(spec), purpose


def _reason(value: Any, field: str, longest: int) -> str:
    text = clean_text(value, field=field, max_length=longest)
    if len(text) < MIN_PURPOSE:
        raise ValidationError(f"say why, in at least {MIN_PURPOSE} characters", field=field)
    return text


def _refused_categories(
    actor: Actor, establishment_id: int, wanted: Iterable[Category]
) -> list[str]:
    """The categories the actor's roles in the establishment may not read."""
    roles = {r for r in actor.roles_in(frozenset({establishment_id})) if r.value in EXPORT_ROLES}
    return [
        c.value for c in wanted
        if not any(decide(role=r.value, action="read", category=c.value, in_scope=True,
                          care_relationship=None, break_glass=False).allowed for r in roles)
    ]  # fmt: skip


def _said(spec: ExportSpec, categories: list[Category]) -> dict[str, Any]:
    return {
        "basis": spec.basis, "start": spec.start.isoformat() if spec.start else None,
        "end": spec.end.isoformat() if spec.end else None,
        "practitioner_id": spec.practitioner_id, "categories": [c.value for c in categories],
    }  # fmt: skip


def request_export(
    db: Database, actor: Actor, spec: ExportSpec, *, policy: ExportPolicy | None = None
) -> ExportLine:
    """Ask for an export: ready at once if small, pending approval if bulk."""
    policy = policy or policy_from_env()
    categories, purpose = _checked(spec)
    action = "export.request"
    refused = _refused_categories(actor, spec.establishment_id, categories)
    if refused:
        reason = (
            "you hold no role in this establishment"
            if spec.establishment_id not in actor.establishments
            else f"your roles here may not read {', '.join(refused)}"
        )
        record_refusal(db, actor, action=action, patient_ids=[],
                       categories=[c.value for c in categories], reason=reason)  # fmt: skip
        raise AccessDenied(reason)
    now = clock.now()
    where = frozenset({spec.establishment_id})
    with gate_transaction(db, where) as session:
        patients = store.patients_covered(
            session, establishment_id=spec.establishment_id, basis=spec.basis,
            start=paris_midnight(spec.start), end=paris_midnight(spec.end),
            practitioner_id=spec.practitioner_id,
        )  # fmt: skip
        bulk = len(patients) > policy.bulk_threshold
        if len(patients) > MAX_PATIENTS:
            raise ValidationError(
                f"{len(patients):,} patients: an export holds at most {MAX_PATIENTS:,}; narrow it "
                "(a period, a practitioner)", field="basis",
            )  # fmt: skip
        if not patients:
            raise ValidationError("no patient matches this export", field="basis")
        row = ExportRequest(
            requested_at=now, requested_by_id=actor.user_id,
            establishment_id=spec.establishment_id, basis=spec.basis, first_day=spec.start,
            end_day=spec.end, practitioner_id=spec.practitioner_id,
            categories=[c.value for c in categories], purpose=purpose, patient_ids=patients,
            patient_count=len(patients), bulk=bulk, status="pending" if bulk else "ready",
            expires_at=now + (PENDING_FOR if bulk else policy.valid_for),
        )  # fmt: skip
        session.add(row)
        session.flush()
        audit.record(
            session,
            audit_entry(actor, scope=where, action=action, outcome="allowed",
                        patient_ids=patients, categories=[c.value for c in categories],
                        purpose=purpose, record_count=0,
                        details={"export_id": row.id, "bulk": bulk, "patients": len(patients),
                                 **_said(spec, categories)}),
            now=now,
        )  # fmt: skip
        return _line(row, now)


def list_exports(db: Database, actor: Actor) -> list[ExportLine]:
    """My requests, and, for a security officer, the bulk requests awaiting approval in
    the establishments where they hold the role (newest first). Recorded."""
    now = clock.now()
    approves = frozenset(
        e for e in actor.establishments if _may_audit(actor, frozenset({e}), "write")
    )
    with gate_transaction(db, actor.establishments) as session:
        rows = store.requests(session, requested_by_id=actor.user_id, pending_in=approves, now=now)
        lines = [_line(row, now) for row in rows]
        audit.record(
            session,
            audit_entry(actor, scope=actor.establishments, action="export.list",
                        outcome="allowed", categories=["audit"], record_count=len(lines)),
            now=now,
        )  # fmt: skip
    return lines


def decide_export(
    db: Database,
    actor: Actor,
    export_id: int,
    *,
    approve: bool,
    comment: str,
    policy: ExportPolicy | None = None,
) -> ExportLine:
    """A security officer of the establishment, not the requester, approves or refuses a
    bulk request awaiting approval."""
    policy = policy or policy_from_env()
    check_id(export_id, field="export")
    action = "export.approve" if approve else "export.refuse"
    text = _reason(comment, "comment", 1000)
    now = clock.now()
    refusal: str | None = None
    with gate_transaction(db, actor.establishments) as session:
        row = store.request(session, export_id, lock=True)
        if row is None or row.establishment_id not in actor.establishments:
            refusal = MISSING
        elif not _may_audit(actor, (where := frozenset({row.establishment_id})), "write"):
            refusal = "only a security officer of the establishment approves an export"
        elif row.requested_by_id == actor.user_id:
            refusal = "four eyes: someone else than the requester must decide"
        else:
            _pending(row, now)
            row.status = "approved" if approve else "refused"
            row.decided_by_id, row.decided_at, row.decision_comment = actor.user_id, now, text
            if approve:
                row.expires_at = now + policy.valid_for
            audit.record(
                session,
                audit_entry(actor, scope=where, action=action, outcome="allowed",
                            patient_ids=list(row.patient_ids), categories=["audit"],
                            reason=text, record_count=0,
                            details={"export_id": row.id, "requested_by_id": row.requested_by_id,
                                     "patients": row.patient_count,
                                     "expires_at": row.expires_at.isoformat()}),
                now=now,
            )  # fmt: skip
            return _line(row, now)
    record_refusal(db, actor, action=action, patient_ids=[], categories=["audit"], reason=refusal)
    if refusal == MISSING:
        raise NotFoundError(f"export #{export_id} does not exist", field="export")
    raise AccessDenied(refusal)


def _pending(row: ExportRequest, now: datetime) -> None:
    if not row.bulk:
        raise ConflictError("a small export needs no approval", field="export")
    if row.status != "pending":
        raise ConflictError(f"this export is {row.status}, not awaiting approval", field="export")
    if now >= row.expires_at:
        raise ConflictError("this request has lapsed: ask again", field="export")


def download_export(
    db: Database, actor: Actor, export_id: int, *, passphrase: str | None = None
) -> ExportFile:
    """The export's file, once, for its requester, while it is valid: a CSV, encrypted
    with ``passphrase`` (required for a bulk export). Recorded with every patient."""
    check_id(export_id, field="export")
    if passphrase is not None and not isinstance(passphrase, str):
        raise ValidationError("is not text", field="passphrase")
    now = clock.now()
    refusal: tuple[str, list[str]] = (MISSING, [])
    with gate_transaction(db, actor.establishments) as session:
        # Locked until the end: two downloads at once are one download and a conflict.
        row = store.request(session, export_id, lock=True)
        # Somebody else's export is not theirs to know of (the attempt is recorded).
        if row is not None and row.requested_by_id == actor.user_id:
            _downloadable(row, now)
            if (row.bulk and passphrase is None) or (
                passphrase is not None and len(passphrase.strip()) < MIN_PASSPHRASE
            ):
                raise ValidationError(
                    f"give a passphrase of at least {MIN_PASSPHRASE} characters (a bulk "
                    "export is always encrypted)", field="passphrase",
                )  # fmt: skip
            categories = [Category(c) for c in row.categories]
            lost = _refused_categories(actor, row.establishment_id, categories)
            if lost:  # habilitations change: the download is decided again
                refusal = (f"your roles here may no longer read {', '.join(lost)}", row.categories)
            elif row.bulk and actor.session_id is None:
                refusal = (BULK_BY_SESSION, row.categories)
            else:
                return _produce(session, actor, row, categories, passphrase, now)
    reason, said = refusal
    record_refusal(db, actor, action=EXPORT_ACTION, patient_ids=[], categories=said, reason=reason)
    if reason == MISSING:
        raise NotFoundError(f"export #{export_id} does not exist", field="export")
    raise AccessDenied(reason)


def _downloadable(row: ExportRequest, now: datetime) -> None:
    if row.status == "pending":
        raise ConflictError("this export awaits a security officer's approval", field="export")
    if row.status in ("refused", "downloaded"):
        raise ConflictError(f"this export was {row.status}", field="export")
    if now >= row.expires_at:
        raise ConflictError("this export has expired: ask again", field="export")


def _produce(
    session: Session,
    actor: Actor,
    row: ExportRequest,
    categories: list[Category],
    passphrase: str | None,
    now: datetime,
) -> ExportFile:
    where = frozenset({row.establishment_id})
    full_nir = bool(actor.roles_in(where) & NIR_ROLES)
    parts = frozenset(
        c.value for c in categories if c in (Category.IDENTITY, Category.CONTACT, Category.COVERAGE)
    )
    items = _items(session, row)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    header = export_file.header(categories)
    writer.writerow(header)
    written: list[int] = []
    for patient_id in row.patient_ids:
        record = patient_store.load_record(session, patient_id, parts=parts)
        if record is None or record.patient.state != PatientState.ACTIVE:
            continue  # merged into another identity since the request: not this one
        blocks = chart_blocks(record, set(categories), full_nir=full_nir)
        cells = export_file.line(
            patient_id,
            blocks,
            row.establishment_id,
            row.basis,
            items.get(patient_id, []),
            categories,
        )
        writer.writerow([export_file.cell(v) for v in cells])
        written.append(patient_id)
    content = out.getvalue().encode("utf-8")
    encrypted = passphrase is not None
    if encrypted:
        import pyrage

        content = pyrage.passphrase.encrypt(content, passphrase)
    row.status, row.downloaded_at = "downloaded", now
    entry = audit_entry(
        actor, scope=where, action=EXPORT_ACTION, outcome="allowed", level="record",
        patient_ids=written, categories=[c.value for c in categories], purpose=row.purpose,
        record_count=len(written),
        details={"export_id": row.id, "bulk": row.bulk, "approved_by_id": row.decided_by_id,
                 "encrypted": encrypted,
                 "sha256": hashlib.sha256(content).hexdigest()},
    )  # fmt: skip
    audit.record(session, entry, now=now)
    name = f"hygie-export-{row.id}-{now.astimezone(PARIS):%Y%m%d-%H%M}.csv"
    return ExportFile(
        filename=name + (".age" if encrypted else ""),
        media_type="application/octet-stream" if encrypted else "text/csv; charset=utf-8",
        content=content, patient_count=len(written), encrypted=encrypted,
    )  # fmt: skip


def _items(session: Session, row: ExportRequest) -> dict[int, list[str]]:
    """The appointments or stays that put each patient on the list, as short text."""
    found: dict[int, list[str]] = {}
    start, end = paris_midnight(row.first_day), paris_midnight(row.end_day)
    if row.basis == "appointments":
        for a in store.appointments_of(
            session, establishment_id=row.establishment_id, patient_ids=row.patient_ids,
            start=start, end=end, practitioner_id=row.practitioner_id,
        ):  # fmt: skip
            when = a.start_at.astimezone(PARIS)
            found.setdefault(a.patient_id, []).append(
                f"{when:%Y-%m-%d %H:%M} ({a.duration_min} min, practitioner {a.practitioner_id}, "
                f"{a.status.value})"
            )
    elif row.basis == "stays":
        for e in store.stays_of(
            session, establishment_id=row.establishment_id, patient_ids=row.patient_ids,
            start=start, end=end,
        ):  # fmt: skip
            began = e.start_at.astimezone(PARIS)
            ended = f"{e.end_at.astimezone(PARIS):%Y-%m-%d %H:%M}" if e.end_at else "…"
            found.setdefault(e.patient_id, []).append(
                f"{began:%Y-%m-%d %H:%M} → {ended} ({e.kind.value}, department {e.department_id})"
            )
    return found
