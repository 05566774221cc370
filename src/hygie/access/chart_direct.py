"""A chart read for a coroutine (the FHIR API), and the direct way to serve the reads without
clinical content (identity, contact) that an integration runs at every request: two
statements on an asyncio driver connection (``hygie.db_direct``) instead of the ORM's dozen
and two trips through the thread pool.

Only the plain allowed case is served the direct way, with the gate's own decision
(``decide_categories``), filling (``fill_chart``) and audit entry: the connection declares
the actor's scope (row-level security), one statement reads, then the audit event is
written and committed (with those of concurrent requests, ``audit_batch``); the chart
is returned only once it has been (fail closed). Anything
else (no such patient, a refusal, clinical content, no direct connections) is
``gateway.read_chart`` in the thread pool, which decides again and records refusals.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from anyio import to_thread

from hygie.access import audit, gateway
from hygie.access.actor import Actor
from hygie.access.policy import Action, Category
from hygie.db import Database, scope_setting
from hygie.db_direct import DirectPool
from hygie.storage import direct as direct_store


async def read_chart(
    db: Database,
    actor: Actor,
    patient_id: int,
    *,
    categories: frozenset[Category] = gateway.CHART_CATEGORIES,
    require: frozenset[Category] = frozenset(),
    action: str = "chart.read",
    details: dict[str, Any] | None = None,
) -> gateway.Chart:
    """``gateway.read_chart`` for a coroutine: the same answer, the same trail."""
    direct = db.direct_here()
    wanted = (categories | require) & gateway.CHART_CATEGORIES
    if (
        direct is not None and wanted <= gateway.DIRECT_CATEGORIES
        and not isinstance(patient_id, bool) and isinstance(patient_id, int) and patient_id >= 1
    ):  # fmt: skip
        chart = await _read_identity(
            direct, db, actor, patient_id, categories=wanted, require=require, action=action,
            details=details,
        )  # fmt: skip
        if chart is not None:
            return chart
    read = partial(
        gateway.read_chart, db, actor, patient_id, categories=categories, require=require,
        action=action, details=details,
    )  # fmt: skip
    return await to_thread.run_sync(read)


async def _read_identity(
    pool: DirectPool,
    db: Database,
    actor: Actor,
    patient_id: int,
    *,
    categories: frozenset[Category],
    require: frozenset[Category],
    action: str,
    details: dict[str, Any] | None,
) -> gateway.Chart | None:
    """The chart of ``categories`` (identity, contact) if its read is allowed; None
    otherwise, having recorded nothing."""
    chart = gateway.Chart(patient_id=patient_id)
    async with pool.connection(scope_setting(actor.establishments)) as conn:
        record = await direct_store.identity_record(conn, patient_id)
    if record is None:
        return None
    ests = frozenset(r.establishment_id for r in record.registrations)
    decisions, _ = gateway.decide_categories(None, actor, patient_id, Action.READ, categories, ests)
    if not any(d.allowed for d in decisions.values()) or any(
        not decisions[c].allowed for c in require
    ):
        return None
    entry = gateway.fill_chart(
        chart, actor, record, decisions, ests, action=action, details=details
    )
    # Committed when it returns; if it fails, the chart is not returned (fail closed).
    await audit.record_direct(pool, entry, db=db)
    return chart
