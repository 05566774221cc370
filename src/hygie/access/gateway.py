"""The gateway: what entry points call to reach patient data.

Every function takes an :class:`Actor`, decides with :mod:`hygie.access.policy`, reads
through the storage layer, keeps only what the decision allows, and writes the audit
event in the same transaction as the read. A refusal is audited in a transaction of its
own, committed before the error reaches the caller.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from hygie.access import audit
from hygie.access.actor import Actor
from hygie.access.policy import CLINICAL, Action, Category, Decision, decide
from hygie.access.scope import gate_transaction
from hygie.clinical.care_team import care_team
from hygie.db import Database
from hygie.errors import HygieError, NotFoundError, ValidationError
from hygie.kit import clock
from hygie.kit.text import clean_text, search_key
from hygie.models import BreakGlass, Patient, Role
from hygie.storage import access as store
from hygie.storage import patients as patient_store

MIN_SEARCH_LETTERS = 2
MAX_RESULTS = 50
BREAK_GLASS_DURATION = timedelta(hours=4)
BREAK_GLASS_REASONS = {
    "emergency": "Urgence vitale",
    "continuity": "Continuité des soins (patient pris en charge hors équipe)",
    "on_call": "Garde ou astreinte",
    "patient_request": "Demande du patient",
    "other": "Autre (préciser)",
}
ALL_CATEGORIES = frozenset(Category)
# Categories a chart shows (billing has its own reads; audit and accounts are no chart's).
CHART_CATEGORIES = ALL_CATEGORIES - {Category.AUDIT, Category.ACCOUNTS, Category.BILLING}
# What a chart read can take the direct way (chart_direct): no clinical content.
DIRECT_CATEGORIES = frozenset({Category.IDENTITY, Category.CONTACT})
# Roles that need the full NIR (coverage and billing work); others see it masked.
NIR_ROLES = frozenset({Role.SECRETARY, Role.BILLING_OFFICER})


# Set by bench/chart_audit.py only, to measure what auditing costs a chart read. Nothing
# else may touch it: with it on, reads leave no trace.
_BENCHMARK_WITHOUT_AUDIT = False


class AccessDenied(HygieError):
    """The gate refused; the refusal is in the trail."""

    def __init__(
        self, message: str, *, break_glass_possible: bool = False, patient_id: int | None = None
    ) -> None:
        super().__init__(message)
        self.break_glass_possible = break_glass_possible
        # The patient a break-the-glass would open (set when the refusal names one).
        self.patient_id = patient_id


@dataclass(frozen=True)
class PatientSummary:
    """One line of a search result or a list: identity only, never clinical content."""

    id: int
    birth_name: str
    used_name: str | None
    first_name: str
    sex: str
    birth_date: date
    identity_status: str
    establishment_ids: tuple[int, ...]


@dataclass
class Chart:
    patient_id: int
    blocks: dict[str, Any] = field(default_factory=dict)
    withheld: dict[str, str] = field(default_factory=dict)  # category -> why
    basis: str | None = None
    # Withheld clinical content that break-the-glass would open (no care relationship).
    break_glass_possible: bool = False


def audit_entry(actor: Actor, *, scope: frozenset[int] = frozenset(), **values: Any) -> audit.Entry:
    """The trail's entry for an access by ``actor``. ``scope``: the establishments the access
    went through; the entry names the first of them and the roles held there (or every
    role of the actor when the access concerns no establishment of theirs)."""
    values.setdefault("purpose", actor.purpose)
    through = scope & actor.establishments
    roles = sorted(r.value for r in actor.roles_in(through)) if through else None
    return audit.Entry(
        user_id=actor.user_id, username=actor.username,
        role=",".join(roles) if roles else actor.main_role(),
        establishment_id=min(through) if through else None,
        session_id=actor.session_id, token_id=actor.token_id, ip=actor.ip,
        user_agent=actor.user_agent, how=actor.how, **values,
    )  # fmt: skip


def record_refusal(
    db: Database,
    actor: Actor,
    *,
    action: str,
    patient_ids: list[int],
    categories: list[str],
    reason: str,
) -> None:
    with gate_transaction(db, actor.establishments) as session:
        audit.record(
            session,
            audit_entry(
                actor,
                action=action,
                outcome="denied",
                patient_ids=patient_ids,
                categories=categories,
                reason=reason,
            ),
        )


def identity_scope(actor: Actor) -> frozenset[int]:
    """The actor's establishments where one of their roles may read identities: where
    they may search patients."""
    return frozenset(
        est for est, roles in actor.roles.items()
        if any(decide(role=r.value, action="read", category="identity", in_scope=True,
                      care_relationship=None, break_glass=False).allowed for r in roles)
    )  # fmt: skip


def summaries(rows: Sequence[tuple[Patient, frozenset[int]]]) -> list[PatientSummary]:
    """Identity summaries of patients found with their establishments."""
    return [
        PatientSummary(
            id=p.id, birth_name=p.birth_name, used_name=p.used_name, first_name=p.first_name,
            sex=p.sex.value, birth_date=p.birth_date, identity_status=p.identity_status.value,
            establishment_ids=tuple(sorted(ests)),
        )
        for p, ests in rows
    ]  # fmt: skip


def search_patients(
    db: Database,
    actor: Actor,
    *,
    name: str,
    birth_date: date | None = None,
    first_name: str | None = None,
    limit: int = 20,
) -> list[PatientSummary]:
    """Identity summaries of the patients, in the actor's establishments where their roles
    may read identities, whose birth or used name starts with ``name``."""
    key = search_key(name) if isinstance(name, str) else ""
    if len(key.replace(" ", "")) < MIN_SEARCH_LETTERS:
        raise ValidationError(
            f"type at least {MIN_SEARCH_LETTERS} letters of the name", field="name"
        )
    limit = max(1, min(int(limit), MAX_RESULTS))
    where = identity_scope(actor)
    criteria = {"name": key, "birth_date": birth_date.isoformat() if birth_date else None}
    if not where:
        record_refusal(db, actor, action="patient.search", patient_ids=[], categories=["identity"],
                reason="no role allowed to search patients")  # fmt: skip
        raise AccessDenied("your roles do not allow searching patients")
    with gate_transaction(db, where) as session:
        rows = store.search_in(
            session, establishment_ids=where, name_key=key, birth_date=birth_date,
            first_name_key=search_key(first_name) if first_name else None, limit=limit,
        )  # fmt: skip
        found = summaries(rows)
        audit.record(
            session,
            audit_entry(actor, scope=where, action="patient.search", outcome="allowed", level="summary",
                   patient_ids=[p.id for p in found], categories=["identity"],
                   record_count=len(found), details={"criteria": criteria}),
        )  # fmt: skip
    return found


def _decisions(
    db: Database, actor: Actor, patient_id: int, action: Action
) -> tuple[dict[Category, Decision], frozenset[int]]:
    with gate_transaction(db, actor.establishments) as session:
        return decide_categories(session, actor, patient_id, action)


def decide_categories(
    session: Session | None,
    actor: Actor,
    patient_id: int,
    action: Action,
    categories: frozenset[Category] = ALL_CATEGORIES,
    ests: frozenset[int] | None = None,
) -> tuple[dict[Category, Decision], frozenset[int]]:
    """The decision for each of ``categories`` on one patient, in ``session``. The care
    relationship and break-the-glass grants are looked up only when clinical content is
    asked for and the actor holds a role there. ``session`` may be None when neither is
    needed (``ests`` given, no clinical category)."""
    now = clock.now()
    if ests is None:  # where the patient has a file (the caller may have read it already)
        if session is None:
            raise ValueError("the patient's establishments or a session to read them")
        ests = store.establishments_of(session, patient_id)
    roles = actor.roles_in(ests)
    relation, glass = None, None
    if roles and categories & CLINICAL:
        if session is None:
            raise ValueError("clinical decisions need a session")
        relation = _care_relationship(session, actor, patient_id, ests, roles, now)
        glass = store.live_break_glass(
            session, user_id=actor.user_id, patient_id=patient_id, at=now
        )
    decisions: dict[Category, Decision] = {}
    for category in categories:
        best = Decision(False, "no role in the patient's establishments", hidden=True)
        for role in sorted(roles):  # no role there: the patient stays hidden
            d = decide(role=role.value, action=action.value, category=category.value,
                       in_scope=bool(roles), care_relationship=relation, break_glass=glass is not None)  # fmt: skip
            if d.allowed or (not best.allowed and not d.hidden):
                best = d
            if d.allowed:
                break
        decisions[category] = best
    return decisions, ests


def _care_relationship(
    session: Any,
    actor: Actor,
    patient_id: int,
    ests: frozenset[int],
    roles: frozenset[Role],
    now: datetime,
) -> str | None:
    mine = actor.establishments & ests
    if actor.professional_id is not None:
        for entry in care_team(session, patient_id=patient_id, at=now):
            if entry.professional_id == actor.professional_id and (
                entry.establishment_id is None or entry.establishment_id in mine
            ):
                return entry.source
    if Role.PHARMACIST in roles and store.has_prescription_to_dispense(
        session, patient_id=patient_id, establishment_ids=mine
    ):
        return "dispensing"
    return None


def read_chart(
    db: Database,
    actor: Actor,
    patient_id: int,
    *,
    categories: frozenset[Category] = CHART_CATEGORIES,
    require: frozenset[Category] = frozenset(),
    action: str = "chart.read",
    details: dict[str, Any] | None = None,
    item_id: int | None = None,
) -> Chart:
    """One patient's chart, each block of ``categories`` only if the actor may read it.

    ``require``: blocks without which the read is pointless (a FHIR Condition search needs
    the conditions): if any of them is refused, nothing is returned and the refusal is
    recorded. ``action`` and ``details`` name the access in the trail. ``item_id``: only
    that item of the list blocks asked for (one allergy, one appointment...)."""
    if isinstance(patient_id, bool) or not isinstance(patient_id, int) or patient_id < 1:
        raise ValidationError("is not a patient id", field="patient_id")
    categories = (categories | require) & CHART_CATEGORIES
    chart = Chart(patient_id=patient_id)
    refused: Decision | None = None
    # One transaction decides, reads and records: the audit event commits with the read.
    with gate_transaction(db, actor.establishments) as session:
        files = patient_store.registrations(session, patient_id)
        ests = frozenset(f.establishment_id for f in files)
        decisions, ests = decide_categories(
            session, actor, patient_id, Action.READ, categories, ests
        )
        allowed = [c for c, d in decisions.items() if d.allowed]
        refused = next((decisions[c] for c in sorted(require) if not decisions[c].allowed), None)
        record = None
        if allowed and refused is None:
            parts = frozenset(c.value for c in allowed)
            record = patient_store.load_record(
                session, patient_id, parts=parts, item_id=item_id, files=files
            )
        if record is not None:
            entry = fill_chart(
                chart, actor, record, decisions, ests, action=action, details=details
            )
            if not _BENCHMARK_WITHOUT_AUDIT:  # only bench/chart_audit.py turns auditing off
                audit.record(session, entry)
    if record is None:
        identity = decisions.get(Category.IDENTITY) or next(iter(decisions.values()))
        hidden = all(d.hidden for d in decisions.values())
        if refused is not None and not hidden:
            reason = refused.reason
        elif not allowed or hidden:
            reason = identity.reason
        else:
            reason = "no such patient"
        record_refusal(
            db, actor, action=action, patient_ids=[patient_id],
            categories=sorted(c.value for c in require), reason=reason,
        )  # fmt: skip
        if hidden or (allowed and refused is None):
            raise NotFoundError(f"patient #{patient_id} does not exist", field="patient_id")
        raise AccessDenied(
            reason,
            break_glass_possible=refused is not None and refused.break_glass_possible,
            patient_id=patient_id,
        )
    return chart


def fill_chart(
    chart: Chart,
    actor: Actor,
    record: patient_store.PatientRecord,
    decisions: dict[Category, Decision],
    ests: frozenset[int],
    *,
    action: str,
    details: dict[str, Any] | None,
) -> audit.Entry:
    """Fill ``chart`` with what ``decisions`` allow of ``record``; the trail's entry for
    the read (an allowed one: at least one block)."""
    allowed = [c for c, d in decisions.items() if d.allowed]
    for category, decision in decisions.items():
        if category in CLINICAL and not decision.allowed:
            chart.withheld[category.value] = decision.reason
            chart.break_glass_possible |= decision.break_glass_possible
    chart.basis = next((decisions[c].basis for c in allowed if c in CLINICAL), "role")
    roles = actor.roles_in(frozenset(r.establishment_id for r in record.registrations))
    chart.blocks = chart_blocks(record, set(allowed), full_nir=bool(roles & NIR_ROLES))
    return audit_entry(
        actor, scope=ests, action=action, outcome="allowed", level="record",
        patient_ids=[chart.patient_id], categories=sorted(chart.blocks), record_count=1,
        purpose=chart.basis, details={**(details or {}), "withheld": sorted(chart.withheld)},
    )  # fmt: skip


def _mask_nir(nir: str | None) -> str | None:
    return None if nir is None else f"{nir[0]} {nir[1:3]} {nir[3:5]} ** *** *** **"


def chart_blocks(
    record: patient_store.PatientRecord, allowed: set[Category], *, full_nir: bool
) -> dict[str, Any]:
    p = record.patient
    blocks: dict[str, Any] = {}
    if Category.IDENTITY in allowed:
        blocks["identity"] = {
            "birth_name": p.birth_name, "birth_first_names": p.birth_first_names,
            "used_name": p.used_name, "first_name": p.first_name, "sex": p.sex.value,
            "birth_date": p.birth_date.isoformat(), "birth_place_code": p.birth_place_code,
            "identity_status": p.identity_status.value,
            "nir": p.nir if full_nir else _mask_nir(p.nir),
            "deceased": record.death is not None,
            "died_at": record.death.died_at.isoformat() if record.death else None,
            "used_first_name": p.used_first_name, "state": p.state.value,
            "merged_into_id": p.merged_into_id,
            "files": [{"establishment_id": r.establishment_id, "ipp": r.ipp}
                      for r in record.registrations],
        }  # fmt: skip
    if Category.CONTACT in allowed:
        blocks["contact"] = {
            "address_line": p.address_line, "postal_code": p.postal_code, "city": p.city,
            "phone_mobile": p.phone_mobile, "phone_home": p.phone_home, "email": p.email,
            "attending_physician_id": p.attending_physician_id,
        }  # fmt: skip
    if Category.COVERAGE in allowed:
        blocks["coverage"] = {
            "amo": [{"id": c.id, "regime": c.regime_code, "fund_code": c.fund_code, "fund": c.fund_name, "beneficiary": c.beneficiary.value,
                     "valid_from": c.valid_from.isoformat(),
                     "valid_until": c.valid_until.isoformat() if c.valid_until else None} for c in record.amo],
            "amc": [{"id": c.id, "organism_number": c.organism_number, "organism": c.organism_name, "member_number": c.member_number if full_nir else None,
                     "valid_from": c.valid_from.isoformat(),
                     "valid_until": c.valid_until.isoformat() if c.valid_until else None} for c in record.amc],
        }  # fmt: skip
    if Category.APPOINTMENTS in allowed:
        blocks["appointments"] = [
            {"id": a.id, "start_at": a.start_at.isoformat(), "duration_min": a.duration_min,
             "status": a.status.value, "practitioner_id": a.practitioner_id,
             "establishment_id": a.establishment_id, "reason": a.reason} for a in record.appointments
        ]  # fmt: skip
    if Category.STAYS in allowed:
        blocks["stays"] = [
            {"id": e.id, "kind": e.kind.value, "status": e.status.value, "start_at": e.start_at.isoformat(),
             "end_at": e.end_at.isoformat() if e.end_at else None, "reason": e.reason,
             "establishment_id": e.establishment_id, "department_id": e.department_id,
             "responsible_id": e.responsible_id} for e in record.encounters
        ]  # fmt: skip
    if Category.ALLERGIES in allowed:
        blocks["allergies"] = [
            {"id": a.id, "substance": a.substance, "drug_code": a.drug_code, "reaction": a.reaction,
             "severity": a.severity.value, "status": a.status.value,
             "recorded_at": a.recorded_at.isoformat(), "recorded_by_id": a.recorded_by_id}
            for a in record.allergies
        ]  # fmt: skip
    if Category.CONDITIONS in allowed:
        blocks["conditions"] = [
            {"id": c.id, "code": c.code, "label": c.label, "status": c.status.value,
             "onset_date": c.onset_date.isoformat() if c.onset_date else None,
             "recorded_at": c.recorded_at.isoformat(), "recorded_by_id": c.recorded_by_id}
            for c in record.conditions
        ]  # fmt: skip
    if Category.NOTES in allowed:
        blocks["notes"] = [
            {"id": n.id, "kind": n.kind.value, "written_at": n.written_at.isoformat(), "author_id": n.author_id,
             "text": n.text} for n in record.notes
        ]  # fmt: skip
    if Category.PRESCRIPTIONS in allowed:
        blocks["prescriptions"] = [
            {"id": r.id, "drug_code": r.drug_code, "drug": r.drug_name, "dose": r.dose,
             "route": r.route.value, "frequency": r.frequency, "duration_days": r.duration_days,
             "status": r.status.value, "prescriber_id": r.prescriber_id,
             "prescribed_at": r.prescribed_at.isoformat(), "encounter_id": r.encounter_id}
            for r in record.prescriptions
        ]  # fmt: skip
    return blocks


def break_glass(
    db: Database,
    actor: Actor,
    *,
    patient_id: int,
    reason_code: str,
    reason_text: str,
    now: datetime | None = None,
) -> BreakGlass:
    """Open one patient's clinical record outside a care relationship, for a limited time,
    with a reason; flagged for review by a security officer."""
    now = now or clock.now()
    if reason_code not in BREAK_GLASS_REASONS:
        raise ValidationError(f"one of {', '.join(BREAK_GLASS_REASONS)}", field="reason_code")
    # 500: the reason is also the trail's reason for the access (audit_events.reason).
    text = clean_text(reason_text, field="reason_text", max_length=500)
    if len(text) < 10:
        raise ValidationError("explain in at least 10 characters", field="reason_text")
    decisions, ests = _decisions(db, actor, patient_id, Action.READ)
    clinical = [d for c, d in decisions.items() if c in CLINICAL]
    if not any(d.break_glass_possible or d.allowed for d in clinical):
        reason = (
            decisions[Category.IDENTITY].reason
            if not ests & actor.establishments
            else "your roles do not open clinical content"
        )
        record_refusal(
            db, actor, action="break_glass", patient_ids=[patient_id], categories=[], reason=reason
        )
        if not ests & actor.establishments:
            raise NotFoundError(f"patient #{patient_id} does not exist", field="patient_id")
        raise AccessDenied(reason)
    with gate_transaction(db, actor.establishments) as session:
        grant = BreakGlass(
            user_id=actor.user_id, patient_id=patient_id,
            establishment_id=min(ests & actor.establishments), reason_code=reason_code,
            reason_text=text, granted_at=now, expires_at=now + BREAK_GLASS_DURATION,
        )  # fmt: skip
        session.add(grant)
        session.flush()
        audit.record(
            session,
            audit_entry(actor, scope=ests, action="break_glass", outcome="allowed", patient_ids=[patient_id],
                   categories=sorted(c.value for c in CLINICAL), purpose=f"break_the_glass:{reason_code}",
                   reason=text, details={"grant_id": grant.id, "expires_at": grant.expires_at.isoformat()}),
            now=now,
        )  # fmt: skip
    return grant
