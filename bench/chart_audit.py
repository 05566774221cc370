"""What auditing costs a chart read: the same reads, audited and not (a benchmark-only
switch), side by side in one run, in alternating blocks — by one client, then by N
concurrent clients (processes, each with its own connection, as server workers would be).

    HYGIE_DATABASE_URL=postgresql+psycopg://root@127.0.0.1/hygie_bench \\
    HYGIE_KEY_FILE=bench/results/hygie_bench.keys .venv/bin/python bench/chart_audit.py \\
        --reads 200 --blocks 10 --clients 4

Runs against a generated database (bench/generate_750k.sh); reads charts as one of its
physicians, of a pool of patients registered in that physician's establishment, each read
once before the blocks so that they compare reads from memory (auditing's cost, not the
disk's). Afterwards it prints
how long the audited reads' events waited for their seal. ``--serialised`` emulates the
trail before sealing (each audited read holds the chain head from its event to its commit)
to compare.
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
import statistics
import time
from datetime import UTC, datetime
from multiprocessing.synchronize import Barrier
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from hygie.access import audit, gateway
from hygie.access.actor import Actor, load_actor
from hygie.access.sealing import BackgroundSealer, seal_pending
from hygie.config import Settings
from hygie.db import Database, check_and_register_keys
from hygie.kit.crypto import Keyring
from hygie.models import AuditEvent, Habilitation, PatientRegistration, Role, User
from hygie.models.access import AuditSeal


def open_database() -> Database:
    settings = Settings.from_env()
    db = Database.from_settings(settings)
    check_and_register_keys(db, Keyring.load(settings.key_file))
    return db


def reader(db: Database, pool: int) -> tuple[Actor, list[int], str]:
    """A physician of the database, ``pool`` patients of its establishment (the same ones
    in every process), and a description."""
    with db.sessions() as s:
        user, est = s.execute(
            select(User.username, Habilitation.establishment_id)
            .join(Habilitation, Habilitation.user_id == User.id)
            .where(Habilitation.role == Role.PHYSICIAN, Habilitation.valid_until.is_(None))
            .order_by(User.id)
            .limit(1)
        ).one()
        ids = list(
            s.scalars(
                select(PatientRegistration.patient_id)
                .where(PatientRegistration.establishment_id == est)
                .limit(200_000)
            )
        )
        actor = load_actor(s, username=user, how="api", ip="127.0.0.1", user_agent="bench")
    chosen = random.Random(3).sample(ids, min(pool, len(ids)))
    return actor, chosen, f"{len(chosen):,} of the patients of establishment {est}, actor {user}"


def serialise_appends() -> None:
    """Emulate the trail before sealing: an append takes the chain head and holds it until
    its transaction commits, so audited accesses commit one after the other."""
    record = audit.record

    def serialised(session: Session, entry: audit.Entry, *, now: datetime | None = None) -> Any:
        session.execute(text("SELECT seq FROM audit_head WHERE id = 1 FOR UPDATE"))
        return record(session, entry, now=now)

    audit.record = serialised  # type: ignore[assignment]


def read_block(db: Database, actor: Actor, sample: list[int], audited: bool) -> float:
    gateway._BENCHMARK_WITHOUT_AUDIT = not audited
    start = time.perf_counter()
    for pid in sample:
        gateway.read_chart(db, actor, pid)
    gateway._BENCHMARK_WITHOUT_AUDIT = False
    return time.perf_counter() - start


def client(index: int, args: argparse.Namespace, ready: Barrier, go: Barrier) -> None:
    """One concurrent client: its own process and connection; each block starts when every
    client (and the conductor, which times it) is ready."""
    if args.serialised:
        serialise_appends()
    db = open_database()
    actor, ids, _ = reader(db, args.pool)
    rng = random.Random(1000 + index)
    read_block(db, actor, [rng.choice(ids) for _ in range(20)], audited=False)  # warm-up
    for block in range(args.blocks):
        sample = [rng.choice(ids) for _ in range(args.reads)]
        ready.wait()
        read_block(db, actor, sample, audited=block % 2 == 0)
        go.wait()
    db.dispose()


def concurrent(args: argparse.Namespace) -> dict[bool, list[float]]:
    """Reads per second of ``args.clients`` processes together, per block."""
    clients, reads, blocks = args.clients, args.reads, args.blocks
    context = multiprocessing.get_context("fork")
    ready, done = context.Barrier(clients + 1), context.Barrier(clients + 1)
    workers = [context.Process(target=client, args=(n, args, ready, done)) for n in range(clients)]
    for worker in workers:
        worker.start()
    sealer = BackgroundSealer(open_database())  # as a server process runs one (after forking)
    sealer.start()
    rates: dict[bool, list[float]] = {True: [], False: []}
    for block in range(blocks):
        ready.wait()
        start = time.perf_counter()
        done.wait()
        rates[block % 2 == 0].append(clients * reads / (time.perf_counter() - start))
    sealer.stop()
    for worker in workers:
        worker.join()
        if worker.exitcode != 0:
            raise SystemExit(f"a client failed (exit code {worker.exitcode})")
    return rates


def report(title: str, rates: dict[bool, list[float]]) -> None:
    """Mean rates, their ratio, and the median ratio of neighbouring blocks (an audited block
    and the unaudited one after it), which drifts less when the machine's load changes."""
    on = sum(rates[True]) / len(rates[True])
    off = sum(rates[False]) / len(rates[False])
    pairs = sorted(a / b for a, b in zip(rates[True], rates[False], strict=False))
    blocks = {k: ", ".join(f"{r:.0f}" for r in v) for k, v in rates.items()}
    print(title)
    print(f"  audited chart reads:      {on:8.1f} /s  (blocks: {blocks[True]})")
    print(f"  not audited (bench only): {off:8.1f} /s  (blocks: {blocks[False]})")
    print(f"  audited / not audited:    {on / off:8.1%}   (target: at least 80 %)")
    print(f"  neighbouring blocks:      {statistics.median(pairs):8.1%}   (median of the pairs)")


def seal_delays(db: Database, since: datetime) -> None:
    """How long the benchmark's events waited between their access and their seal."""
    delay = func.extract("epoch", AuditSeal.sealed_at - AuditEvent.at)
    with db.sessions() as s:
        left = s.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .outerjoin(AuditSeal, AuditSeal.event_id == AuditEvent.id)
            .where(AuditEvent.at >= since, AuditSeal.event_id.is_(None))
        )
        count, p50, p99, top = s.execute(
            select(
                func.count(),
                func.percentile_cont(0.5).within_group(delay),
                func.percentile_cont(0.99).within_group(delay),
                func.max(delay),
            )
            .select_from(AuditEvent)
            .join(AuditSeal, AuditSeal.event_id == AuditEvent.id)
            .where(AuditEvent.at >= since)
        ).one()
    print(f"events of this run sealed: {count:,}; not sealed when the clients stopped: {left}")
    if count:
        print(
            f"  from access to seal: median {p50 * 1000:.1f} ms, 99th percentile "
            f"{p99 * 1000:.1f} ms, max {top * 1000:.1f} ms"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reads", type=int, default=200, help="reads per block and client")
    parser.add_argument("--blocks", type=int, default=10)
    parser.add_argument("--clients", type=int, default=4, help="concurrent clients (0: none)")
    parser.add_argument("--pool", type=int, default=3000, help="patients read, read once first")
    parser.add_argument("--single", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument(
        "--serialised", action="store_true", help="emulate the trail before sealing"
    )
    args = parser.parse_args()
    db = open_database()
    db.upgrade()
    actor, ids, who = reader(db, args.pool)
    seal_pending(db)
    # Every patient of the pool read once, so that blocks compare reads from memory.
    read_block(db, actor, ids, audited=False)
    started = datetime.now(UTC)
    print(f"{db.dialect}: {who}{' — serialised appends (emulated)' if args.serialised else ''}")
    if args.serialised:
        serialise_appends()
    if args.single:
        rng = random.Random(7)
        rates: dict[bool, list[float]] = {True: [], False: []}
        for block in range(args.blocks):
            sample = [rng.choice(ids) for _ in range(args.reads)]
            audited = block % 2 == 0
            rates[audited].append(args.reads / read_block(db, actor, sample, audited))
        report("1 client", rates)
    if args.clients:
        db.engine.dispose()  # the clients are forked: they must not share its connections
        rates = concurrent(args)
        report(f"{args.clients} concurrent clients (processes)", rates)
    seal_delays(db, started)
    print(f"sealed afterwards: {seal_pending(db).sealed}")


if __name__ == "__main__":
    main()
