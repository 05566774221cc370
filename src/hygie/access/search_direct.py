"""A patient search for a coroutine (the FHIR API), served the direct way on PostgreSQL: one
statement finds the page and counts the matches on an asyncio driver connection
(``hygie.db_direct``, ``storage.direct.find``), then the search is recorded as
``records.find_patients`` records it, committed before the page is returned (fail closed).

Refusals (no role that may search), searches by IPP (their establishment is looked up by
FINESS) and applications without direct connections go ``records.find_patients`` in the
thread pool.
"""

from __future__ import annotations

from functools import partial

from anyio import to_thread

from hygie.access import audit, records
from hygie.access.actor import Actor
from hygie.access.gateway import PatientSummary, identity_scope
from hygie.db import Database, scope_setting
from hygie.storage import direct as direct_store


async def find_patients(
    db: Database,
    actor: Actor,
    query: records.PatientQuery,
    *,
    offset: int = 0,
    count: int = 20,
    action: str = "patient.search",
) -> records.PatientPage:
    """``records.find_patients`` for a coroutine: the same page, the same trail."""
    direct = db.direct_here()
    # No role that may search: ``search_scope`` would record the refusal with a blocking
    # statement, so the ORM way (in the thread pool) takes that case.
    if direct is None or query.ipp is not None or not identity_scope(actor):
        search = partial(
            records.find_patients, db, actor, query, offset=offset, count=count, action=action
        )
        return await to_thread.run_sync(search)
    where, count = records.search_scope(db, actor, offset=offset, count=count, action=action)
    criteria, said = records.criteria_of(None, query)
    async with direct.connection(scope_setting(where)) as conn:
        total, rows = await direct_store.find(
            conn, establishment_ids=where, criteria=criteria, offset=offset, limit=count
        )
    page = records.PatientPage(
        total=total, offset=offset,
        patients=[PatientSummary(*row) for row in rows],
    )  # fmt: skip
    entry = records.search_entry(actor, where, page, said, count=count, action=action)
    await audit.record_direct(direct, entry, db=db)
    return page
