"""A patient's access history — who opened their record, when, how and why — and the
security officer's review of break-the-glass grants. Reading either is itself audited."""

from __future__ import annotations

import html
import json
from dataclasses import asdict, dataclass
from datetime import datetime

from hygie.access import audit
from hygie.access.actor import Actor
from hygie.access.gateway import AccessDenied, audit_entry, record_refusal
from hygie.access.policy import decide
from hygie.access.scope import gate_transaction
from hygie.db import Database
from hygie.errors import ConflictError, NotFoundError, ValidationError
from hygie.kit import clock
from hygie.kit.text import clean_text
from hygie.kit.time import PARIS
from hygie.models import BreakGlass
from hygie.storage import access as store
from hygie.storage import common

REVIEW_OUTCOMES = ("justified", "unjustified")


@dataclass(frozen=True)
class HistoryLine:
    at: str  # Europe/Paris local time, as shown to the patient
    who: str
    role: str | None
    action: str
    how: str
    data: list[str]
    why: str | None
    outcome: str


def _may_audit(actor: Actor, establishment_ids: frozenset[int], action: str = "read") -> bool:
    """Whether the actor holds, there, a role that may ``action`` the audit category
    (reading the trail; writing is recording a verdict, such as a review)."""
    roles = actor.roles_in(establishment_ids)
    return any(
        decide(role=r.value, action=action, category="audit", in_scope=True,
               care_relationship=None, break_glass=False).allowed
        for r in roles
    )  # fmt: skip


def access_history(db: Database, actor: Actor, patient_id: int) -> list[HistoryLine]:
    """Every recorded access to one patient, newest first, for a security officer of one
    of the patient's establishments."""
    with gate_transaction(db, actor.establishments) as session:
        ests = store.establishments_of(session, patient_id)
    if not ests or not _may_audit(actor, ests):
        record_refusal(db, actor, action="patient.access_history", patient_ids=[patient_id],
                categories=["audit"], reason="not a security officer of the patient's establishments")  # fmt: skip
        if not ests & actor.establishments:
            raise NotFoundError(f"patient #{patient_id} does not exist", field="patient_id")
        raise AccessDenied("only a security officer may read a patient's access history")
    with gate_transaction(db, actor.establishments) as session:
        lines = [
            HistoryLine(
                at=e.at.astimezone(PARIS).strftime("%Y-%m-%d %H:%M:%S"),
                who=e.username or "system", role=e.role, action=e.action, how=e.how,
                data=list(e.categories), why=e.purpose or e.reason, outcome=e.outcome,
            )
            for e in store.events_for_patient(session, patient_id)
        ]  # fmt: skip
        audit.record(
            session,
            audit_entry(actor, scope=ests, action="patient.access_history", outcome="allowed", level="summary",
                   patient_ids=[patient_id], categories=["audit"], record_count=len(lines)),
        )  # fmt: skip
    return lines


def history_json(patient_id: int, lines: list[HistoryLine]) -> str:
    return json.dumps(
        {"patient_id": patient_id, "accesses": [asdict(line) for line in lines]},
        ensure_ascii=False, indent=2,
    )  # fmt: skip


def history_html(patient_id: int, lines: list[HistoryLine]) -> str:
    """A printable page (French, for the patient)."""
    rows = "\n".join(
        "<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in (
            line.at, line.who, line.role or "", line.action, line.how, ", ".join(line.data),
            line.why or "", line.outcome,
        )) + "</tr>"
        for line in lines
    )  # fmt: skip
    return (
        '<!doctype html><html lang="fr"><head><meta charset="utf-8">'
        f"<title>Historique des accès — patient n° {patient_id}</title></head><body>"
        f"<h1>Historique des accès à votre dossier (n° {patient_id})</h1>"
        "<table><thead><tr><th>Date</th><th>Qui</th><th>Rôle</th><th>Action</th>"
        "<th>Moyen</th><th>Données</th><th>Motif</th><th>Résultat</th></tr></thead>"
        f"<tbody>{rows}</tbody></table></body></html>"
    )


def pending_reviews(db: Database, actor: Actor) -> list[BreakGlass]:
    """Break-the-glass grants awaiting review in the actor's establishments."""
    where = frozenset(e for e in actor.establishments if _may_audit(actor, frozenset({e})))
    if not where:
        record_refusal(db, actor, action="break_glass.pending", patient_ids=[],
                       categories=["audit"], reason="not a security officer")  # fmt: skip
        raise AccessDenied("only a security officer reviews break-the-glass")
    with gate_transaction(db, where) as session:
        grants = list(store.pending_break_glass(session, where))
        # The queue names patients: listing it is an access like any other list.
        audit.record(
            session,
            audit_entry(actor, scope=where, action="break_glass.pending", outcome="allowed",
                        level="summary", patient_ids=[g.patient_id for g in grants],
                        categories=["audit"], record_count=len(grants)),
        )  # fmt: skip
    return grants


def review_break_glass(
    db: Database,
    actor: Actor,
    *,
    grant_id: int,
    outcome: str,
    note: str,
    now: datetime | None = None,
) -> BreakGlass:
    """Record a security officer's verdict on one break-the-glass grant."""
    now = now or clock.now()
    if outcome not in REVIEW_OUTCOMES:
        raise ValidationError(f"one of {', '.join(REVIEW_OUTCOMES)}", field="outcome")
    text = clean_text(note, field="note", max_length=1000)
    try:
        return _review(db, actor, grant_id=grant_id, outcome=outcome, text=text, now=now)
    except (NotFoundError, ConflictError) as exc:
        # An unknown grant, one's own or one already reviewed: the attempt is recorded too.
        with gate_transaction(db, actor.establishments) as session:
            audit.record(
                session,
                audit_entry(actor, action="break_glass.review", outcome="failed",
                            categories=["audit"], reason=exc.message,
                            details={"grant_id": grant_id}),
                now=now,
            )  # fmt: skip
        raise


def _review(
    db: Database, actor: Actor, *, grant_id: int, outcome: str, text: str, now: datetime
) -> BreakGlass:
    with gate_transaction(db, actor.establishments) as session:
        establishment = common.get(
            session, BreakGlass, grant_id, what="break-the-glass", field="grant_id"
        ).establishment_id
    if not _may_audit(actor, frozenset({establishment}), "write"):
        record_refusal(
            db, actor, action="break_glass.review", patient_ids=[], categories=["audit"],
            reason="not a security officer of that establishment",
        )  # fmt: skip
        raise AccessDenied("only a security officer of that establishment reviews it")
    with gate_transaction(db, actor.establishments) as session:
        grant = common.get_for_update(
            session, BreakGlass, grant_id, what="break-the-glass", field="grant_id"
        )
        if grant.user_id == actor.user_id:
            raise ConflictError("nobody reviews their own break-the-glass", field="grant_id")
        if grant.reviewed_at is not None:
            raise ConflictError("this break-the-glass was already reviewed", field="grant_id")
        grant.reviewed_at, grant.reviewed_by_id = now, actor.user_id
        grant.review_outcome, grant.review_note = outcome, text
        audit.record(
            session,
            audit_entry(actor, scope=frozenset({grant.establishment_id}), action="break_glass.review",
                        outcome="allowed", patient_ids=[grant.patient_id],
                   categories=["audit"], reason=text, details={"grant_id": grant.id, "verdict": outcome}),
            now=now,
        )  # fmt: skip
    return grant
