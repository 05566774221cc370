"""What auditing costs a chart read: the same reads, audited and not (a benchmark-only
switch), side by side in one run, in alternating blocks.

    HYGIE_DATABASE_URL=postgresql+psycopg://root@127.0.0.1/hygie_bench \\
    HYGIE_KEY_FILE=bench/results/hygie_bench.keys .venv/bin/python bench/chart_audit.py

Runs against a generated database (bench/generate_750k.sh); reads charts as one of its
physicians, of patients registered in that physician's establishment.
"""

from __future__ import annotations

import argparse
import random
import time

from sqlalchemy import select

from hygie.access import gateway
from hygie.access.actor import load_actor
from hygie.config import Settings
from hygie.db import Database, check_and_register_keys
from hygie.kit.crypto import Keyring
from hygie.models import Habilitation, PatientRegistration, Role, User


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reads", type=int, default=2000, help="reads per block")
    parser.add_argument("--blocks", type=int, default=6)
    args = parser.parse_args()
    settings = Settings.from_env()
    db = Database.from_settings(settings)
    db.upgrade()
    check_and_register_keys(db, Keyring.load(settings.key_file))
    with db.sessions() as s:
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
        actor = load_actor(s, username=user, how="api", ip="127.0.0.1", user_agent="bench")
    rng = random.Random(7)
    rates: dict[bool, list[float]] = {True: [], False: []}
    for block in range(args.blocks):
        audited = block % 2 == 0
        gateway._BENCHMARK_WITHOUT_AUDIT = not audited
        sample = [rng.choice(ids) for _ in range(args.reads)]
        start = time.perf_counter()
        for pid in sample:
            gateway.read_chart(db, actor, pid)
        rates[audited].append(args.reads / (time.perf_counter() - start))
    gateway._BENCHMARK_WITHOUT_AUDIT = False
    on = sum(rates[True]) / len(rates[True])
    off = sum(rates[False]) / len(rates[False])
    print(f"{db.dialect}: {len(ids):,} patients in establishment {est}, actor {user}")
    print(
        f"audited chart reads:     {on:8.1f} /s  (blocks: {', '.join(f'{r:.0f}' for r in rates[True])})"
    )
    print(
        f"not audited (bench only): {off:8.1f} /s  (blocks: {', '.join(f'{r:.0f}' for r in rates[False])})"
    )
    print(f"audited / not audited:   {on / off:8.1%}   (target: at least 80 %)")


if __name__ == "__main__":
    main()
