"""How long the chart page takes on the server: GET /patients/{id} through the ASGI
application in-process (no network, no browser), as physicians reading the charts of
patients in their care.

    .venv/bin/python bench/chart_page.py \\
        --database-url postgresql+psycopg://root@127.0.0.1:5432/hygie_bench \\
        --key-file bench/results/hygie_bench.keys --requests 500

Runs against a generated database (bench/generate_750k.sh). It picks, with SQL, physicians
with an account and patients they have an appointment with inside the care window (a care
relationship: the chart opens with its clinical blocks), opens a web session for each of
those physicians (``hygie.auth.sessions.create_session``, second factor marked done: the
sign-in itself is not measured), then times N page requests, round robin over the
(physician, patient) pairs, each chart read once beforehand so that the figures are reads
from memory. The application runs as the server runs it on PostgreSQL: the trail's events
sealed by a background sealer (``defer``), and containment watching every read as in
production: so each physician reads only a few charts (see ``pick_pairs``), as many
physicians at work would, and the figures include the detector's own cost.

Prints p50 / p95 / p99 in ms and requests per second (one client, sequential).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from starlette.testclient import TestClient

from hygie.access.sealing import BackgroundSealer
from hygie.app import create_app
from hygie.auth import sessions
from hygie.config import Settings
from hygie.db import Database, check_and_register_keys
from hygie.kit.crypto import Keyring
from hygie.models import User

# Appointments that make a care relationship (the default windows of hygie.clinical.care_team,
# a day inside each end so that the pair still holds during the run).
PAST, AHEAD = timedelta(days=179), timedelta(days=89)
PAIRS_SQL = text(
    """
    SELECT DISTINCT ON (a.patient_id) u.id, a.patient_id
    FROM appointments a
    JOIN users u ON u.professional_id = a.practitioner_id AND u.active
    JOIN habilitations h ON h.user_id = u.id AND h.establishment_id = a.establishment_id
                        AND h.role = 'physician' AND h.valid_until IS NULL
    WHERE a.start_at BETWEEN :low AND :high AND a.status <> 'cancelled'
    ORDER BY a.patient_id
    LIMIT :pairs
    """
)


def open_database(url: str, key_file: str) -> Database:
    os.environ["HYGIE_DATABASE_URL"] = url
    os.environ["HYGIE_KEY_FILE"] = key_file
    settings = Settings.from_env()
    db = Database.from_settings(settings)
    check_and_register_keys(db, Keyring.load(settings.key_file))
    return db


def pick_pairs(db: Database, count: int, per_physician: int) -> list[tuple[int, int]]:
    """(user id, patient id) pairs: ``count`` patients, at most ``per_physician`` for
    each physician (the access monitor steps up an account reading more than 6 distinct
    charts in a minute, 20 in ten: the bench reads as many physicians would)."""
    now = datetime.now(UTC)
    with db.sessions() as s:
        found = s.execute(PAIRS_SQL, {"low": now - PAST, "high": now + AHEAD, "pairs": count * 50})
        rows = [(int(u), int(p)) for u, p in found]
    random.Random(7).shuffle(rows)
    taken: dict[int, int] = {}
    pairs: list[tuple[int, int]] = []
    for user_id, patient_id in rows:
        if taken.get(user_id, 0) < per_physician and len(pairs) < count:
            taken[user_id] = taken.get(user_id, 0) + 1
            pairs.append((user_id, patient_id))
    return pairs


def open_sessions(db: Database, user_ids: set[int]) -> dict[int, str]:
    """A signed-in web session (its cookie value) per physician."""
    now = datetime.now(UTC)
    cookies = {}
    with db.transaction() as s:
        for user_id in sorted(user_ids):
            user = s.get(User, user_id)
            assert user is not None
            new = sessions.create_session(
                s, user=user, now=now, ip="127.0.0.1", user_agent="bench/chart_page",
                mfa_at=now, how="web",
            )  # fmt: skip
            cookies[user_id] = new.cookie_value
    return cookies


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--key-file", required=True)
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--patients", type=int, default=200, help="distinct charts read")
    parser.add_argument("--per-physician", type=int, default=4)
    args = parser.parse_args()

    db = open_database(args.database_url, args.key_file)
    pairs = pick_pairs(db, args.patients, args.per_physician)
    if not pairs:
        raise SystemExit("no physician with an appointment in the care window")
    cookies = open_sessions(db, {u for u, _ in pairs})
    print(f"{len(pairs)} charts of {len(cookies)} physicians; {args.requests} requests")

    sealer = BackgroundSealer(db, interval=0.2, defer=True)  # as hygie.app's server does
    sealer.start()
    try:
        with TestClient(create_app(db=db), base_url="https://testserver") as client:

            def get(user_id: int, patient_id: int) -> float:
                client.cookies.set("hygie_session", cookies[user_id])
                start = time.perf_counter()
                answer = client.get(f"/patients/{patient_id}")
                took = time.perf_counter() - start
                if answer.status_code != 200 or 'id="allergies"' not in answer.text:
                    raise SystemExit(
                        f"/patients/{patient_id}: {answer.status_code} {answer.url} {answer.text[-600:]}"
                    )
                return took

            for user_id, patient_id in pairs:  # warm: every chart read once
                get(user_id, patient_id)
            times = []
            begun = time.perf_counter()
            for n in range(args.requests):
                times.append(get(*pairs[n % len(pairs)]))
            elapsed = time.perf_counter() - begun
    finally:
        sealer.stop()
        db.dispose()
    ms = [t * 1000 for t in times]
    print(
        f"GET /patients/{{id}}: p50 {percentile(ms, 0.50):.1f} ms, "
        f"p95 {percentile(ms, 0.95):.1f} ms, p99 {percentile(ms, 0.99):.1f} ms, "
        f"mean {statistics.fmean(ms):.1f} ms, {len(ms) / elapsed:.1f} requests/s"
    )


if __name__ == "__main__":
    main()
