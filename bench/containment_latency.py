"""What containment costs a chart read: the same reads with the guard deciding (exposure
preview, detector, counting) and with it switched off, side by side in one run, in
alternating blocks, on the exposure meter kept in the process or in Redis.

    HYGIE_DATABASE_URL=postgresql+psycopg://root@127.0.0.1/hygie_bench \\
    HYGIE_KEY_FILE=bench/results/hygie_bench.keys .venv/bin/python bench/containment_latency.py \\
        --reads 300 --blocks 10 [--redis redis://127.0.0.1:6379/14]

Reads charts as one physician of a generated database (bench/generate_750k.sh, or any
``hygie demo`` database), of a pool of patients of its establishment, each read once
first so that the blocks compare reads from memory. The norms are raised far above the
traffic for the run (a benchmark reads thousands of charts a minute, which is exactly what
containment stops): every read still goes through the whole decision, nothing is refused.
Prints the median latency of each kind of block and the ratio (target: at most +10 %).
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
import uuid

from chart_audit import open_database, reader  # bench/ is on the path when run

from hygie.access import containment, gateway
from hygie.access.containment import Guard, LocalBoard, RedisBoard
from hygie.access.detection import DEFAULT_NORMS, Detector, Norms
from hygie.access.exposure import LocalExposure
from hygie.access.exposure_redis import RedisExposure
from hygie.db import Database


def permissive_guard(db: Database, redis_url: str | None) -> Guard:
    """A guard that decides on every read, with norms no benchmark reaches."""
    norms = Norms({(None, None, signal): 1e12 for signal in DEFAULT_NORMS})
    if redis_url:
        import redis

        client = redis.Redis.from_url(redis_url)
        prefix = f"hygie-bench:{uuid.uuid4().hex}"
        guard = Guard(
            meter=RedisExposure(client, prefix=prefix), board=RedisBoard(client, prefix=prefix),
            detector=Detector(norms=norms),
        )  # fmt: skip
    else:
        guard = Guard(meter=LocalExposure(), board=LocalBoard(), detector=Detector(norms=norms))
    guard = containment.install(db, guard)
    # Keep the permissive norms: no refresh from the database during the run.
    guard.refresh = lambda *_a, **_k: None  # type: ignore[method-assign]
    return guard


def block(db: Database, guard: Guard, actor: object, sample: list[int], on: bool) -> list[float]:
    guard.enabled = on
    times = []
    for pid in sample:
        start = time.perf_counter()
        gateway.read_chart(db, actor, pid)  # type: ignore[arg-type]
        times.append(time.perf_counter() - start)
    guard.enabled = True
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reads", type=int, default=300, help="reads per block")
    parser.add_argument("--blocks", type=int, default=10)
    parser.add_argument("--pool", type=int, default=2000, help="patients read, read once first")
    parser.add_argument("--redis", default=None, help="Redis URL: the shared meter and board")
    args = parser.parse_args()
    db = open_database()
    actor, ids, who = reader(db, args.pool)
    guard = permissive_guard(db, args.redis)
    block(db, guard, actor, ids, on=False)  # every chart once: reads from memory
    rng = random.Random(11)
    medians: dict[bool, list[float]] = {True: [], False: []}
    for n in range(args.blocks):
        on = n % 2 == 0
        times = block(db, guard, actor, [rng.choice(ids) for _ in range(args.reads)], on)
        medians[on].append(statistics.median(times) * 1000)
    on, off = statistics.median(medians[True]), statistics.median(medians[False])
    pairs = sorted(a / b for a, b in zip(medians[True], medians[False], strict=False))
    meter = "Redis" if args.redis else "in-process"
    print(f"{db.dialect}: {who}; meter {meter}")
    print(f"  chart read, containment on:  {on:7.3f} ms median  (blocks: "
          f"{', '.join(f'{m:.3f}' for m in medians[True])})")  # fmt: skip
    print(f"  chart read, containment off: {off:7.3f} ms median  (blocks: "
          f"{', '.join(f'{m:.3f}' for m in medians[False])})")  # fmt: skip
    print(f"  added by containment:        {on / off - 1:+7.1%}   (target: at most +10 %)")
    print(
        f"  neighbouring blocks:         {statistics.median(pairs) - 1:+7.1%}   (median of the pairs)"
    )


if __name__ == "__main__":
    main()
