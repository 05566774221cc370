"""How many audited accesses per second the trail itself lets through: N processes, each
with its own connection, committing one audit event per transaction as fast as they can
(nothing else in the transaction), for a few seconds; then the same with appends serialised
on the chain head as before sealing (``--compare``).

    .venv/bin/python bench/audit_append.py [--clients 1 2 4 8] [--seconds 5] [--compare]

Creates a fresh PostgreSQL database on the local server (admin URL from HYGIE_BENCH_PG,
default postgresql://root@127.0.0.1:5432/postgres), dropped at the end; checks the chain
after each run.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import time
import uuid
from multiprocessing.synchronize import Barrier
from typing import Any

import psycopg
from sqlalchemy import text

from hygie.access import audit
from hygie.access.audit import Entry
from hygie.access.sealing import BackgroundSealer, seal_pending
from hygie.access.trail import verify
from hygie.db import Database

ADMIN_URL = os.environ.get("HYGIE_BENCH_PG", "postgresql://root@127.0.0.1:5432/postgres")
ENTRY = Entry(
    action="chart.read", outcome="allowed", how="api", user_id=7, username="dr.bench",
    role="physician", establishment_id=1, ip="10.0.0.7", user_agent="bench", level="record",
    patient_ids=[42], categories=["allergies", "identity", "notes"], purpose="care:attending",
    record_count=1, details={"withheld": []},
)  # fmt: skip


def append(session: Any, serialised: bool) -> None:
    if serialised:  # the trail before sealing: the head taken from the append to the commit
        session.execute(text("SELECT seq FROM audit_head WHERE id = 1 FOR UPDATE"))
    audit.record(session, ENTRY)


def client(url: str, seconds: float, serialised: bool, start: Barrier, counts: Any) -> None:
    db = Database.open(url)
    done = 0
    start.wait()
    until = time.perf_counter() + seconds
    while time.perf_counter() < until:
        with db.transaction() as session:
            append(session, serialised)
        done += 1
    counts.put(done)
    db.dispose()


def run(url: str, clients: int, seconds: float, serialised: bool) -> float:
    context = multiprocessing.get_context("fork")
    start, counts = context.Barrier(clients + 1), context.Queue()
    workers = [
        context.Process(target=client, args=(url, seconds, serialised, start, counts))
        for _ in range(clients)
    ]
    for worker in workers:
        worker.start()
    sealer = BackgroundSealer(Database.open(url))
    sealer.start()
    start.wait()
    began = time.perf_counter()
    total = sum(counts.get() for _ in workers)
    elapsed = time.perf_counter() - began
    for worker in workers:
        worker.join()
    sealer.stop()
    return total / elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--compare", action="store_true", help="also serialised, as before")
    args = parser.parse_args()
    name = f"hygie_bench_append_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = f"{ADMIN_URL.rsplit('/', 1)[0]}/{name}".replace("postgresql://", "postgresql+psycopg://")
    db = Database.open(url)
    try:
        db.upgrade()
        db.dispose()
        modes = [False, True] if args.compare else [False]
        print(f"appends per second (one event per transaction, {args.seconds:.0f} s each)")
        for clients in args.clients:
            line = [f"{clients} client{'s' if clients > 1 else ' '}:"]
            for serialised in modes:
                rate = run(url, clients, args.seconds, serialised)
                label = "serialised (before sealing)" if serialised else "sealing"
                line.append(f"{label} {rate:8,.0f}/s")
            print("  ".join(line))
        seal_pending(db)
        report = verify(db)
        assert report.ok, report.finding
        print(f"chain checked: {report.events:,} events, intact")
    finally:
        db.dispose()
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
