"""A patient's billing (acts and invoices) through the gate: the billing officer's read.

Kept out of the chart on purpose: billing is its own category in the permission table, and
billing officers see identity, coverage and billing, never clinical content."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hygie.access import audit
from hygie.access.actor import Actor
from hygie.access.gateway import AccessDenied, audit_entry, record_refusal
from hygie.access.policy import Action, Category, decide
from hygie.access.scope import gate_transaction
from hygie.db import Database
from hygie.errors import NotFoundError
from hygie.kit.checks import check_id
from hygie.storage import access as store
from hygie.storage import care as care_store


@dataclass
class Billing:
    patient_id: int
    acts: list[dict[str, Any]] = field(default_factory=list)
    invoices: list[dict[str, Any]] = field(default_factory=list)


def read_billing(db: Database, actor: Actor, patient_id: int) -> Billing:
    """The patient's acts and invoices in the establishments where the actor may read
    billing (and the patient has a file)."""
    check_id(patient_id, field="patient_id")
    with gate_transaction(db, actor.establishments) as session:
        ests = store.establishments_of(session, patient_id)
        where = frozenset(
            est for est in ests & actor.establishments
            if any(decide(role=r.value, action=Action.READ.value, category=Category.BILLING.value,
                          in_scope=True, care_relationship=None, break_glass=False).allowed
                   for r in actor.roles_in(frozenset({est})))
        )  # fmt: skip
        if where:
            acts, invoices = care_store.billing_of(session, patient_id, where)
            result = Billing(
                patient_id=patient_id,
                acts=[
                    {"id": a.id, "code": a.code, "system": a.system.value,
                     "performed_on": a.performed_on.isoformat(), "amount_cents": a.amount_cents,
                     "establishment_id": a.establishment_id, "invoice_id": a.invoice_id}
                    for a in acts
                ],
                invoices=[
                    {"id": i.id, "number": i.number, "issued_at": i.issued_at.isoformat(),
                     "total_cents": i.total_cents, "amo_cents": i.amo_cents,
                     "amc_cents": i.amc_cents, "patient_cents": i.patient_cents,
                     "status": i.status.value, "establishment_id": i.establishment_id}
                    for i in invoices
                ],
            )  # fmt: skip
            audit.record(
                session,
                audit_entry(actor, scope=where, action="billing.read", outcome="allowed",
                            level="record", patient_ids=[patient_id], categories=["billing"],
                            record_count=1, purpose="role"),
            )  # fmt: skip
            return result
    hidden = not ests & actor.establishments
    reason = "patient outside your establishments" if hidden else "your roles may not read billing"
    record_refusal(db, actor, action="billing.read", patient_ids=[patient_id],
                   categories=["billing"], reason=reason)  # fmt: skip
    if hidden:
        raise NotFoundError(f"patient #{patient_id} does not exist", field="patient_id")
    raise AccessDenied(reason)
