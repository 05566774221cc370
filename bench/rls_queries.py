"""What row-level security costs the gate's queries (PostgreSQL). The same queries as
bench/queries.py — the gate's patient search (name prefix within the actor's
establishment, with and without the birth date), the search without an establishment
filter, the exact NIR look-up and one patient's full record — run three ways on the same
database, then audited chart reads through the gate, as the owner and as the application
role (the gate declares its scope either way; the owner is a superuser and ignores it):

- ``owner``: connected as HYGIE_DATABASE_URL's user, a superuser whom row-level security
  does not bind, declaring nothing (the cost before row-level security);
- ``app, one site``: as the application role, each transaction declaring the probe's
  establishment, as the gate does for an actor of that establishment;
- ``app, group``: as the application role, declaring every establishment (``*``).

    HYGIE_DATABASE_URL=... HYGIE_KEY_FILE=... .venv/bin/python bench/rls_queries.py \
        --app-role hygie_bench_app [--samples N]

The application role is created or re-granted with ``grant_app_role`` (as
``hygie db grant-app-role`` does). Prints p50 / p95 / p99 in milliseconds.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from hygie.access import gateway
from hygie.access.actor import Actor, load_actor
from hygie.config import Settings
from hygie.db import Database, check_and_register_keys, scope_setting
from hygie.kit.crypto import Keyring
from hygie.models import Habilitation, Patient, PatientRegistration, Role, User
from hygie.patients.service import nir_lookup_hash
from hygie.storage import access as gate_store
from hygie.storage import patients as store
from hygie.storage.app_role import grant_app_role


@dataclass(frozen=True)
class Probe:
    prefix: str
    born: date
    nir: str | None
    patient_id: int
    establishment: int


# A way to run the queries: its name, its connection, the scope it declares for a probe.
Way = tuple[str, Database, Callable[[Probe], str | None]]


def percentiles(samples: list[float]) -> str:
    q = statistics.quantiles(samples, n=100, method="inclusive")
    return f"p50 {q[49]:6.2f}  p95 {q[94]:6.2f}  p99 {q[98]:6.2f} ms"


def timed(
    ways: list[Way], work: Callable[[Session, Probe], Any], probes: list[Probe]
) -> dict[str, list[float]]:
    """Each probe in its own transaction, declaration included, as a request would run;
    the ways take turns probe by probe, so that a change of load on the machine (and the
    cache) weighs on them alike."""
    out: dict[str, list[float]] = {name: [] for name, _, _ in ways}
    for i, probe in enumerate(probes):
        # Whoever goes first reads the probe's pages from disk: the lead rotates.
        for name, db, scope in ways[i % len(ways) :] + ways[: i % len(ways)]:
            t0 = time.perf_counter()
            with db.transaction(scope=scope(probe)) as session:
                work(session, probe)
            out[name].append((time.perf_counter() - t0) * 1000)
    return out


def gate_search(session: Session, p: Probe) -> None:
    rows = gate_store.search_in(
        session, establishment_ids=[p.establishment], name_key=p.prefix, birth_date=p.born,
        first_name_key=None, limit=50,
    )  # fmt: skip
    assert rows, "the probe's own patient must be found"


def gate_name_search(session: Session, p: Probe) -> None:
    rows = gate_store.search_in(
        session, establishment_ids=[p.establishment], name_key=p.prefix, birth_date=None,
        first_name_key=None, limit=20,
    )  # fmt: skip
    assert rows


def plain_search(session: Session, p: Probe) -> None:
    assert store.search(session, name_prefix=p.prefix, birth_date=p.born, limit=50)


def by_nir(session: Session, p: Probe) -> None:
    assert p.nir is None or store.by_nir_hash(session, nir_lookup_hash(p.nir)) is not None


def record(session: Session, p: Probe) -> None:
    rec = store.load_record(session, p.patient_id)
    assert rec is not None
    _ = [n.text for n in rec.notes], rec.patient.nir, [c.member_number for c in rec.amc]


def probes_from(db: Database, samples: int, prefix: int) -> list[Probe]:
    rng = random.Random(42)
    with db.sessions() as s:
        top = s.scalar(select(func.max(Patient.id))) or 0
        ids = [rng.randint(1, top) for _ in range(samples)]
        first_site = dict(
            s.execute(
                select(PatientRegistration.patient_id, func.min(PatientRegistration.establishment_id))
                .where(PatientRegistration.patient_id.in_(ids))
                .group_by(PatientRegistration.patient_id)
            ).all()
        )  # fmt: skip
        return [
            Probe(p.birth_name_key[:prefix], p.birth_date, p.nir, p.id, first_site[p.id])
            for p in s.scalars(select(Patient).where(Patient.id.in_(ids)))
        ]


def chart_reads(owner: Database, app: Database, reads: int) -> None:
    """Audited chart reads through the gate by one physician, of patients registered in
    their establishment, owner and application role taking turns read by read."""
    with owner.sessions() as s:
        user, est = s.execute(
            select(User.username, Habilitation.establishment_id)
            .join(Habilitation, Habilitation.user_id == User.id)
            .where(Habilitation.role == Role.PHYSICIAN, Habilitation.valid_until.is_(None))
            .limit(1)
        ).one()
        ids = list(
            s.scalars(
                select(PatientRegistration.patient_id)
                .where(PatientRegistration.establishment_id == est)
                .limit(200_000)
            )
        )
        actor: Actor = load_actor(s, username=user, how="api", ip="127.0.0.1", user_agent="bench")
    rng = random.Random(7)
    sample = [rng.choice(ids) for _ in range(reads)]
    out: dict[str, list[float]] = {"owner (no RLS)": [], "app, its site": []}
    turns = [("owner (no RLS)", owner), ("app, its site", app)]
    for i, pid in enumerate(sample[:50] + sample):
        for name, db in turns if i % 2 else turns[::-1]:
            t0 = time.perf_counter()
            gateway.read_chart(db, actor, pid)
            out[name].append((time.perf_counter() - t0) * 1000)
    print(f"audited chart read through the gate ({user}, establishment {est})")
    for name, samples in out.items():
        print(f"  {name:16} {percentiles(samples[50:])}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--app-role", required=True)
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--prefix", type=int, default=3, help="letters of the birth name typed")
    args = parser.parse_args()
    settings = Settings.from_env()
    owner = Database.from_settings(settings)
    check_and_register_keys(owner, Keyring.load(settings.key_file))
    grant_app_role(owner.engine, args.app_role)
    app_url = make_url(settings.database_url).set(username=args.app_role, password=None)
    app = Database.open(app_url.render_as_string(hide_password=False))
    probes = probes_from(owner, args.samples, args.prefix)
    print(f"{len(probes)} probes; milliseconds per request (transaction included)")
    ways: list[Way] = [
        ("owner (no RLS)", owner, lambda p: None),
        ("app, one site", app, lambda p: scope_setting(frozenset({p.establishment}))),
        ("app, group (*)", app, lambda p: "*"),
    ]
    queries: list[tuple[str, Callable[[Session, Probe], Any]]] = [
        ("gate search (site + prefix + birth date)", gate_search),
        ("gate search (site + prefix only, 20 rows)", gate_name_search),
        ("search (prefix + birth date)", plain_search),
        ("exact NIR look-up", by_nir),
        ("full record", record),
    ]
    for title, work in queries:
        print(title)
        timed(ways, work, probes[:50])  # warm-up: connections, plans, caches
        for name, samples in timed(ways, work, probes).items():
            print(f"  {name:16} {percentiles(samples)}")
    chart_reads(owner, app, args.samples)
    app.dispose()
    owner.dispose()


if __name__ == "__main__":
    main()
