"""The group's directory as interfaces need it to name things: establishments (FINESS,
name, address). It holds no patient data; resources that show it are recorded by the gate
with the access they belong to."""

from __future__ import annotations

import time
from dataclasses import dataclass
from threading import Lock

from hygie.access.scope import gate_transaction
from hygie.db import Database
from hygie.storage import organisation as organisation_store

# Establishments change a few times a year; a minute-old view is fresh enough.
CACHE_SECONDS = 60.0


@dataclass(frozen=True)
class Place:
    id: int
    finess: str
    name: str
    address_line: str
    postal_code: str
    city: str


_cache: dict[int, tuple[float, dict[int, Place]]] = {}
_lock = Lock()


def establishments(db: Database) -> dict[int, Place]:
    """Every establishment of the group, by id."""
    key = id(db)
    with _lock:
        cached = _cache.get(key)
        if cached is not None and time.monotonic() - cached[0] < CACHE_SECONDS:
            return cached[1]
    with gate_transaction(db, frozenset()) as session:  # no patient row is needed
        places = {
            e.id: Place(e.id, e.finess, e.name, e.address_line, e.postal_code, e.city)
            for e in organisation_store.establishments(session)
        }
    with _lock:
        _cache[key] = (time.monotonic(), places)
    return places


def forget(db: Database) -> None:
    """Drop the cached view (after an establishment is added)."""
    with _lock:
        _cache.pop(id(db), None)
