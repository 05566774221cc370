"""Transactions opened by the gate, scoped to the establishments of the actor.

On PostgreSQL, row-level security on the patient tables is a second wall behind the
gate's own decisions: each gate transaction declares the establishments it works in, and
rows of any other establishment are invisible to it. (Filled in by the row-level-security
work; until then the scope is only carried, not enforced.)"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session

from hygie.db import Database

# The scope of system work that spans the group (synthetic data, key rotation, audit).
EVERY_ESTABLISHMENT: frozenset[int] | None = None


@contextmanager
def gate_transaction(db: Database, establishments: frozenset[int] | None) -> Iterator[Session]:
    """A unit of work limited to ``establishments`` (``EVERY_ESTABLISHMENT``: the group)."""
    with db.transaction() as session:
        yield session
