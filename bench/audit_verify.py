"""How fast ``hygie audit verify`` checks the trail (issue 3 target: 200,000 events/s).

    .venv/bin/python bench/audit_verify.py [--events 500000] [--runs 3] [--keep]

Creates a fresh PostgreSQL database on the local server (admin URL from HYGIE_BENCH_PG,
default postgresql://root@127.0.0.1:5432/postgres), migrates it, fills the trail with COPY
(the events, then their seals, each hash computed exactly as sealing computes it), signs a
checkpoint, then times ``verify`` over the whole chain. ``--sqlite FILE`` runs the same on a SQLite file.
The database is dropped at the end unless ``--keep``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import Connection, text

from hygie.access.audit import CHAINED_FIELDS, GENESIS, event_hash, normalised_details
from hygie.access.trail import checkpoint, init_audit_key, verify
from hygie.db import Database

ADMIN_URL = os.environ.get("HYGIE_BENCH_PG", "postgresql://root@127.0.0.1:5432/postgres")
ACTIONS = [
    ("chart.read", "record", ["identity", "allergies", "conditions", "notes"]),
    ("patient.search", "summary", ["identity"]),
    ("agenda.list", "summary", ["identity", "appointments"]),
    ("note.write", "record", ["notes"]),
    ("login", None, []),
    ("prescription.read", "record", ["prescriptions", "allergies"]),
]
# An event's columns (its chained fields but its place in the chain), then its seal's.
EVENT_COLUMNS = ("id", *(c for c in CHAINED_FIELDS if c not in ("seq", "prev_hash")))
SEAL_COLUMNS = ("event_id", "seq", "prev_hash", "hash", "sealed_at")
JSON = {"patient_ids", "categories", "details"}


def synthetic_events(count: int, seed: int = 7) -> Iterator[dict[str, Any]]:
    """``count`` chained events, as ``record`` would write them."""
    rng = random.Random(seed)
    at = datetime(2026, 1, 5, 7, 0, tzinfo=UTC)
    prev = GENESIS
    for seq in range(1, count + 1):
        at += timedelta(microseconds=rng.randint(1, 400_000))
        action, level, categories = rng.choice(ACTIONS)
        user = rng.randint(1, 1800)
        patients = sorted(set(rng.sample(range(1, 750_001), rng.choice([0, 1, 1, 1, 3, 20]))))
        denied = rng.random() < 0.03
        values: dict[str, Any] = {
            "seq": seq,
            "at": at,
            "user_id": user,
            "username": f"user{user:04d}",
            "role": rng.choice(["physician", "nurse", "secretary", "billing"]),
            "establishment_id": rng.randint(1, 5),
            "session_id": rng.randint(1, 50_000),
            "token_id": None,
            "ip": f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
            "user_agent": "Mozilla/5.0 (X11; Linux x86_64; rv:130.0) Gecko/20100101 Firefox/130.0",
            "how": "web",
            "action": action,
            "level": level,
            "patient_ids": patients,
            "categories": sorted(categories),
            "purpose": None if denied else "care:attending",
            "outcome": "denied" if denied else "allowed",
            "reason": "no care relationship" if denied else None,
            "record_count": len(patients),
            "details": normalised_details({"screen": action.split(".")[0]}),
            "prev_hash": prev,
        }
        values["hash"] = prev = event_hash(values)
        yield values


def fill_postgresql(url: str, count: int) -> tuple[int, str]:
    """Events and their seals by COPY (event ids 1..count, sealed in that order)."""
    last = (0, GENESIS)
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        seals: list[tuple[Any, ...]] = []
        with cur.copy(f"COPY audit_events ({', '.join(EVENT_COLUMNS)}) FROM STDIN") as copy:
            for values in synthetic_events(count):
                # JSON columns as SQLAlchemy stores them (json.dumps).
                copy.write_row([_cell(values, c) for c in EVENT_COLUMNS])
                seals.append(tuple(_cell(values, c) for c in SEAL_COLUMNS))
                last = (values["seq"], values["hash"])
        with cur.copy(f"COPY audit_seals ({', '.join(SEAL_COLUMNS)}) FROM STDIN") as copy:
            for row in seals:
                copy.write_row(row)
        cur.execute("SELECT setval('audit_events_id_seq', %s)", (max(count, 1),))
        cur.execute("UPDATE audit_head SET seq = %s, hash = %s WHERE id = 1", last)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE audit_events")
        conn.execute("VACUUM ANALYZE audit_seals")
    return last


def _cell(values: dict[str, Any], name: str) -> Any:
    if name == "id" or name == "event_id":
        return values["seq"]
    if name == "sealed_at":
        return values["at"]
    return json.dumps(values[name]) if name in JSON else values[name]


def fill_sqlite(db: Database, count: int) -> tuple[int, str]:
    last = (0, GENESIS)
    inserts = {
        table: text(
            f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join(':' + c for c in cols)})"  # noqa: S608
        )
        for table, cols in (("audit_events", EVENT_COLUMNS), ("audit_seals", SEAL_COLUMNS))
    }
    batch: list[dict[str, Any]] = []
    with db.engine.begin() as conn:
        for values in synthetic_events(count):
            at = values["at"].replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
            row = {c: _cell(values, c) for c in (*EVENT_COLUMNS, *SEAL_COLUMNS)}
            row["at"] = row["sealed_at"] = at
            batch.append(row)
            last = (values["seq"], values["hash"])
            if len(batch) == 10_000:
                _insert_sqlite(conn, inserts, batch)
                batch = []
        _insert_sqlite(conn, inserts, batch)
        conn.execute(
            text("UPDATE audit_head SET seq = :s, hash = :h WHERE id = 1"),
            {"s": last[0], "h": last[1]},
        )
    return last


def _insert_sqlite(conn: Connection, inserts: dict[str, Any], batch: list[dict[str, Any]]) -> None:
    if batch:
        for statement in inserts.values():
            conn.execute(statement, batch)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=500_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=20_000)
    parser.add_argument("--sqlite", type=Path, help="bench a SQLite file instead")
    parser.add_argument("--keep", action="store_true", help="keep the database")
    args = parser.parse_args()
    name = f"hygie_bench_audit_{uuid.uuid4().hex[:8]}"
    if args.sqlite:
        url = f"sqlite:///{args.sqlite}"
    else:
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        base = ADMIN_URL.rsplit("/", 1)[0]
        url = f"{base}/{name}".replace("postgresql://", "postgresql+psycopg://")
    db = Database.open(url)
    try:
        db.upgrade()
        t0 = time.perf_counter()
        if args.sqlite:
            fill_sqlite(db, args.events)
        else:
            fill_postgresql(url.replace("postgresql+psycopg://", "postgresql://"), args.events)
        print(f"{db.dialect}: filled {args.events:,} events in {time.perf_counter() - t0:.1f} s")
        with tempfile.TemporaryDirectory() as tmp:
            key = init_audit_key(Path(tmp) / "audit.key")
            t0 = time.perf_counter()
            signed = checkpoint(db, key)
            print(
                f"checkpoint at seq {signed.seq:,} (chain checked first) in "
                f"{time.perf_counter() - t0:.1f} s"
            )
            for run in range(1, args.runs + 1):
                report = verify(db, public_key=key.public, batch_size=args.batch_size)
                assert report.ok, report.finding
                print(
                    f"run {run}: verified {report.events:,} events and "
                    f"{report.checkpoints} checkpoint(s) in {report.seconds:.2f} s: "
                    f"{report.rate:,.0f} events/s"
                )
    finally:
        db.dispose()
        if not args.sqlite and not args.keep:
            with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
