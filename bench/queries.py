"""Query latencies at scale: birth-name prefix + birth date search, exact NIR look-up, and
loading one patient's full record. Prints p50 / p95 / p99 in milliseconds.

    HYGIE_DATABASE_URL=... HYGIE_KEY_FILE=... .venv/bin/python bench/queries.py [--samples N]

Samples are drawn (with a fixed seed) from the patients in the database; each query runs in
its own short transaction, as a request would.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable
from datetime import date

from sqlalchemy import func, select

from hygie.config import Settings
from hygie.db import Database, check_and_register_keys
from hygie.kit.crypto import Keyring
from hygie.models import Patient
from hygie.patients.service import nir_lookup_hash
from hygie.storage import patients as store


def percentiles(samples: list[float]) -> str:
    q = statistics.quantiles(samples, n=100, method="inclusive")
    return f"p50 {q[49]:.2f} ms  p95 {q[94]:.2f} ms  p99 {q[98]:.2f} ms  (n={len(samples)})"


def timed(db: Database, work: Callable[..., object], args: list[tuple[object, ...]]) -> list[float]:
    out = []
    for a in args:
        with db.sessions() as session:
            t0 = time.perf_counter()
            work(session, *a)
            out.append((time.perf_counter() - t0) * 1000)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--prefix", type=int, default=3, help="letters of the birth name typed")
    args = parser.parse_args()
    settings = Settings.from_env()
    db = Database.from_settings(settings)
    check_and_register_keys(db, Keyring.load(settings.key_file))
    rng = random.Random(42)
    with db.sessions() as s:
        top = s.scalar(select(func.max(Patient.id))) or 0
        count = s.scalar(select(func.count()).select_from(Patient)) or 0
        ids = [rng.randint(1, top) for _ in range(args.samples)]
        picked = s.scalars(select(Patient).where(Patient.id.in_(ids))).all()
        probes = [(p.birth_name_key[: args.prefix], p.birth_date, p.nir, p.id) for p in picked]
    print(f"{db.dialect}: {count:,} patients; {len(probes)} probes")

    def search(session: object, prefix: str, born: date) -> None:
        rows = store.search(session, name_prefix=prefix, birth_date=born, limit=50)  # type: ignore[arg-type]
        assert rows, "the probe's own patient must be found"

    def by_nir(session: object, nir: str) -> None:
        assert store.by_nir_hash(session, nir_lookup_hash(nir)) is not None  # type: ignore[arg-type]

    def record(session: object, pid: int) -> None:
        rec = store.load_record(session, pid)  # type: ignore[arg-type]
        assert rec is not None
        _ = [n.text for n in rec.notes], rec.patient.nir, [c.member_number for c in rec.amc]

    # Warm-up pass (connections, plan cache), then the measured pass.
    timed(db, search, [(p, b) for p, b, _, _ in probes[:50]])
    print(
        "search birth-name prefix + birth date:",
        percentiles(timed(db, search, [(p, b) for p, b, _, _ in probes])),
    )
    with_nir = [(n,) for _, _, n, _ in probes if n]
    print("exact look-up by NIR (keyed hash):    ", percentiles(timed(db, by_nir, with_nir)))
    print(
        "full record (identity, coverage, allergies, conditions, notes, prescriptions, appointments, stays):"
    )
    print(
        "                                       ",
        percentiles(timed(db, record, [(i,) for _, _, _, i in probes])),
    )


if __name__ == "__main__":
    main()
