"""Transactions opened by the gate, scoped to the establishments of the actor.

On PostgreSQL, row-level security on the patient tables is a second wall behind the
gate's own decisions (migration 0004): each gate transaction declares the establishments
it works in, as its first statement, and rows of any other establishment are invisible
to it and cannot be written. A transaction that declares nothing sees no patient row, so
a query that goes around the gate finds nothing rather than everything. If the
declaration fails, the transaction fails with it.

On SQLite (no row-level security) the gate's own decisions remain the only wall.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session

from hygie.db import Database, declare_scope, scope_setting

# The scope of system work that spans the group (synthetic data, key rotation, audit).
EVERY_ESTABLISHMENT: frozenset[int] | None = None


@contextmanager
def gate_transaction(db: Database, establishments: frozenset[int] | None) -> Iterator[Session]:
    """A unit of work limited to ``establishments`` (``EVERY_ESTABLISHMENT``: the group).

    An empty set is a scope too: the transaction then sees no patient row at all.

    When containment refuses the access (``Contained``, raised as it is recorded), the
    transaction has rolled back, nothing was handed over; the refusal is then carried out
    (recorded, alerted, the account locked) in a transaction of its own."""
    from hygie.access.containment import Contained, enforce

    try:
        with db.transaction(scope=scope_setting(establishments)) as session:
            yield session
    except Contained as refused:
        enforce(db, refused)
        raise


def system_database(db: Database) -> Database:
    """``db`` for operations on the whole group run by an operator (generation, key
    rotation): every transaction, session and connection it opens sees every
    establishment."""
    return db.scoped(EVERY_ESTABLISHMENT)


def widen_to_group(session: Session) -> None:
    """From here to the end of the transaction, see every establishment.

    Only for the group-wide consequences of a write the gate has already decided on the
    actor's own scope: a death declaration cancels the patient's appointments and stops
    their prescriptions in every establishment, a merge moves every row of the duplicate.
    Nothing read after this call may be returned to the actor."""
    declare_scope(session.connection(), scope_setting(EVERY_ESTABLISHMENT))
