"""Generate a whole synthetic group: plan, make chunks (in worker processes), load them.

Everything is written in one transaction: a failed run leaves the database as it was."""

from __future__ import annotations

import math
import multiprocessing
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import Connection

from hygie.db import Database
from hygie.errors import ConflictError, ValidationError
from hygie.generate import encode
from hygie.generate.patients import (
    COLUMNS,
    INSURED_NIR_CONTEXT,
    NIR_CONTEXT,
    PATCHABLE,
    TABLE_ORDER,
    Chunk,
    ChunkMaker,
)
from hygie.generate.plan import Plan, build_plan
from hygie.kit.crypto import Keyring, install_keyring
from hygie.kit.identifiers import nir_key
from hygie.storage import bulk
from hygie.storage import organisation as org_store

MAX_PATIENTS = 5_000_000
MAX_ESTABLISHMENTS = 50


@dataclass
class Report:
    seed: int
    patients: int
    establishments: int
    chunks: int
    workers: int
    rows: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    nir_collisions_fixed: int = 0
    plan: Plan | None = None


def chunking(patients: int) -> tuple[int, int]:
    """(chunk size, chunk count): a function of the patient count only, for determinism."""
    size = min(20_000, max(2_000, math.ceil(patients / 40)))
    return size, max(1, math.ceil(patients / size))


# --- worker side ------------------------------------------------------------------------
_worker: dict[str, Any] = {}


def _init_worker(
    plan: Plan, ring: Keyring, seed: int, size: int, count: int, patients: int, copy: bool
) -> None:
    install_keyring(ring)
    _worker.update(
        plan=plan, ring=ring, seed=seed, size=size, count=count, patients=patients, copy=copy
    )


def _make_chunk(task: tuple[int, tuple[Any, ...]]) -> Chunk:
    index, init_args = task
    if not _worker:
        # Initialised here rather than as a Pool initializer: an initializer that fails
        # makes the pool respawn workers forever, while an error here reaches the caller.
        _init_worker(*init_args)
    w = _worker
    first = index * w["size"] + 1
    n = min(w["size"], w["patients"] - index * w["size"])
    maker = ChunkMaker(
        w["plan"],
        w["ring"],
        seed=w["seed"],
        index=index,
        chunk_size=w["size"],
        chunk_count=w["count"],
        first_patient_id=first,
        count=n,
    )
    chunk = maker.make()
    if w["copy"]:
        # Encoding here spreads the work over the worker processes.
        for table in TABLE_ORDER:
            if table not in PATCHABLE:
                chunk.encoded[table] = encode.copy_text(chunk.rows[table])
                chunk.counts[table] = len(chunk.rows[table])
                chunk.rows[table] = []
    return chunk


def _chunks(workers: int, init_args: tuple[Any, ...], count: int) -> Iterator[Chunk]:
    _worker.clear()
    tasks = [(index, init_args) for index in range(count)]
    if workers <= 1:
        for task in tasks:
            yield _make_chunk(task)
        return
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(workers) as pool:
        yield from pool.imap(_make_chunk, tasks)


# --- main side --------------------------------------------------------------------------
_PATIENT_NIR = COLUMNS["patients"].index("nir")
_PATIENT_NIR_HASH = COLUMNS["patients"].index("nir_hash")
_AMO_PATIENT = COLUMNS["amo_coverages"].index("patient_id")
_AMO_NIR = COLUMNS["amo_coverages"].index("insured_nir")
_AMO_BENEFICIARY = COLUMNS["amo_coverages"].index("beneficiary")


class _NirRegistry:
    """Keeps generated NIRs unique across chunks, fixing the rare collision in place."""

    def __init__(self, ring: Keyring) -> None:
        self.ring = ring
        self.seen: set[str] = set()
        self.fixed = 0

    def settle(self, chunk: Chunk) -> None:
        for row_index, nir in chunk.nirs:
            if nir in self.seen:
                nir = self._fix(chunk, row_index, nir)
            self.seen.add(nir)

    def _fix(self, chunk: Chunk, row_index: int, nir: str) -> str:
        body = nir[:13]
        order = int(body[10:13])
        while True:
            order = order % 999 + 1
            candidate_body = body[:10] + f"{order:03d}"
            candidate = f"{candidate_body}{nir_key(candidate_body):02d}"
            if candidate not in self.seen:
                break
        row = list(chunk.rows["patients"][row_index])
        row[_PATIENT_NIR] = self.ring.encrypt(candidate, NIR_CONTEXT)
        row[_PATIENT_NIR_HASH] = self.ring.blind_index(candidate, NIR_CONTEXT)
        chunk.rows["patients"][row_index] = tuple(row)
        pid = row[0]
        amo = chunk.rows["amo_coverages"]
        for i, cov in enumerate(amo):
            if cov[_AMO_PATIENT] == pid and cov[_AMO_BENEFICIARY] == "insured":
                fixed = list(cov)
                fixed[_AMO_NIR] = self.ring.encrypt(candidate, INSURED_NIR_CONTEXT)
                amo[i] = tuple(fixed)
        self.fixed += 1
        return candidate


def _load(conn: Connection, chunk: Chunk, report: Report) -> None:
    postgres = conn.dialect.name == "postgresql"
    for table in TABLE_ORDER:
        if postgres:
            data = chunk.encoded.get(table)
            if data is None:
                data = encode.copy_text(chunk.rows[table])
                chunk.counts[table] = len(chunk.rows[table])
            if data:
                bulk.copy_block(conn, table, COLUMNS[table], data)
        else:
            chunk.counts[table] = len(chunk.rows[table])
            if chunk.rows[table]:
                bulk.insert_rows(conn, table, COLUMNS[table], encode.sqlite_rows(chunk.rows[table]))
        report.rows[table] = report.rows.get(table, 0) + chunk.counts[table]


def generate(
    db: Database,
    ring: Keyring,
    *,
    establishments: int,
    patients: int,
    seed: int,
    reference_date: date,
    workers: int = 2,
    progress: Callable[[int], None] | None = None,
) -> Report:
    if not 1 <= establishments <= MAX_ESTABLISHMENTS:
        raise ValidationError(f"must be between 1 and {MAX_ESTABLISHMENTS}", field="establishments")
    if not 1 <= patients <= MAX_PATIENTS:
        raise ValidationError(f"must be between 1 and {MAX_PATIENTS:,}", field="patients")
    if not date(2000, 1, 1) <= reference_date <= date(2100, 12, 31):
        raise ValidationError("must lie between 2000-01-01 and 2100-12-31", field="reference_date")
    install_keyring(ring)
    size, count = chunking(patients)
    workers = max(1, min(workers, count))
    report = Report(
        seed=seed, patients=patients, establishments=establishments, chunks=count, workers=workers
    )
    started = time.perf_counter()
    with db.sessions() as session, session.begin():
        if org_store.has_group(session):
            raise ConflictError(
                "the database already holds a group: generate into an empty database "
                "(a new HYGIE_DATABASE_URL, or drop this one)"
            )
        plan = build_plan(
            session,
            establishments=establishments,
            patients=patients,
            seed=seed,
            reference_date=reference_date,
        )
        report.plan = plan
        session.flush()
        report.seconds["organisation and staff"] = time.perf_counter() - started
        conn = session.connection()
        postgres = conn.dialect.name == "postgresql"
        aside = bulk.set_aside(conn, COLUMNS) if postgres else bulk.SetAside()
        registry = _NirRegistry(ring)
        waiting = load_time = 0.0
        mark = time.perf_counter()
        for chunk in _chunks(workers, (plan, ring, seed, size, count, patients, postgres), count):
            got = time.perf_counter()
            waiting += got - mark
            registry.settle(chunk)
            _load(conn, chunk, report)
            mark = time.perf_counter()
            load_time += mark - got
            if progress:
                progress(len(chunk.rows["patients"]))
        report.seconds["generation (waiting for workers)"] = waiting
        report.seconds["loading (COPY / inserts)"] = load_time
        mark = time.perf_counter()
        bulk.restore(conn, aside)
        if postgres:
            bulk.reset_sequences(conn)
        report.seconds["indexes, foreign keys, sequences"] = time.perf_counter() - mark
        mark = time.perf_counter()
    report.seconds["commit"] = time.perf_counter() - mark
    mark = time.perf_counter()
    if db.dialect == "postgresql":
        bulk.analyze(db.engine)
    report.seconds["analyze"] = time.perf_counter() - mark
    report.seconds["total"] = time.perf_counter() - started
    report.nir_collisions_fixed = registry.fixed
    return report
