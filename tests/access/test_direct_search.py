"""The direct search (``storage.direct.find``, hand-written SQL) finds, counts and orders
exactly what the ORM's (``storage.access.find_in``) does, for any criteria (hypothesis)."""

from __future__ import annotations

import asyncio
import random
from datetime import date
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hygie.access.scope import gate_transaction
from hygie.db import Database, scope_setting
from hygie.patients import service as patients
from hygie.storage import access as store
from hygie.storage import direct as direct_store
from tests.factories import build_world

pytestmark = pytest.mark.postgres

NAMES = ("MARTIN", "MARTINEZ", "MARCHAND", "BERNARD", "BERNARDIN", "DUPONT", "DUPUIS", "LE GALL")
FIRSTS = ("Anne", "Annie", "Marc", "Marcel", "Paul", "Pauline", "Léa")
DATES = (date(1950, 1, 1), date(1960, 6, 15), date(1975, 3, 3))


@pytest.fixture
def world_db(request: pytest.FixtureRequest) -> Any:
    """A PostgreSQL database with 90 identities over two establishments, some in both, four
    of them merged."""
    db: Database = request.getfixturevalue("pg_db")
    rng = random.Random(3)
    with db.transaction() as s:
        world = build_world(s)
        ests = [world.est_a, world.est_b]
        ids: list[int] = []
        for _ in range(90):
            est, other = rng.sample(ests, 2)
            pid = patients.create_patient(
                s, establishment_id=est, birth_name=rng.choice(NAMES),
                birth_first_names=[rng.choice(FIRSTS)], sex=rng.choice(("female", "male")),
                birth_date=rng.choice(DATES),
                used_name=rng.choice(NAMES) if rng.random() < 0.3 else None,
            ).patient.id  # fmt: skip
            if rng.random() < 0.2:
                patients.ensure_registered(s, patient_id=pid, establishment_id=other)
            ids.append(pid)
        # Merged identities stay, inactive: no search may find them.
        for survivor, merged in zip(ids[:8:2], ids[1:8:2], strict=True):
            patients.merge_identities(s, survivor_id=survivor, merged_id=merged, reason="doublon")
    return db, frozenset({world.est_a, world.est_b}), world


def sometimes(*values: Any) -> Any:
    """None most of the time (criteria narrow fast), else one of ``values``."""
    return st.one_of(st.none(), st.none(), st.sampled_from(values))


criteria = st.builds(
    store.Criteria,
    family_key=st.sampled_from(["M", "MA", "MAR", "MARTIN", "BERN", "DU", "LE G", "ZZ"]),
    given_key=sometimes("AN", "MARC", "PAUL"),
    any_name_key=sometimes("MAR", "PA", "DUP"),
    birth_date=sometimes(*DATES),
    sex=sometimes("female", "male"),
) | st.builds(store.Criteria, any_name_key=st.sampled_from(["MAR", "PA", "DUP", "AN", "B"]))


async def _direct(
    url: str, where: frozenset[int], c: store.Criteria, offset: int, limit: int
) -> tuple[int, list[tuple[int, tuple[int, ...]]]]:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        await conn.execute(
            "SELECT set_config('hygie.establishments', %(s)s, false)", {"s": scope_setting(where)}
        )
        total, rows = await direct_store.find(
            conn, establishment_ids=where, criteria=c, offset=offset, limit=limit
        )
    return total, [(r[0], r[7]) for r in rows]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    c=criteria,
    scope=st.sampled_from(["both", "a", "b"]),
    offset=st.integers(0, 12),
    limit=st.integers(0, 25),
)
def test_direct_search_equals_the_orm_search(
    world_db: Any, c: store.Criteria, scope: str, offset: int, limit: int
) -> None:
    db, both, world = world_db
    where = {"both": both, "a": frozenset({world.est_a}), "b": frozenset({world.est_b})}[scope]
    with gate_transaction(db, where) as session:
        total, rows = store.find_in(
            session, establishment_ids=where, criteria=c, offset=offset, limit=limit
        )
        expected = (total, [(p.id, tuple(sorted(ests))) for p, ests in rows])
    url = db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    assert asyncio.run(_direct(url, where, c, offset, limit)) == expected
