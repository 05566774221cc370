"""FHIR under load: ``GET /fhir/Patient/{id}`` and ``GET /fhir/Patient?family=...``, each
audited, served by uvicorn with two workers on loopback, driven by wrk (a C load generator:
a Python one would take the CPU the server needs on this two-core machine).

    HYGIE_DATABASE_URL=postgresql+psycopg://root@127.0.0.1/hygie_bench \\
    HYGIE_KEY_FILE=bench/results/hygie_bench.keys .venv/bin/python bench/fhir_load.py \\
        --seconds 20 --connections 8 --runs 3 [--app-role hygie_app]

Runs against a generated database (bench/generate_750k.sh). A physician of the database
gets a read token; the reads pick random patients of its establishment, the searches
random birth names of that establishment (as reception types them). Prints wrk's figures
(requests/s, latency percentiles from wrk's Lua ``done`` hook) and how many events the
runs added to the trail (each request is audited: its token use and its access).
"""

from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import httpx
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from hygie.auth import tokens
from hygie.config import Settings
from hygie.db import Database
from hygie.models import AuditEvent, Habilitation, Patient, PatientRegistration, Role, User
from hygie.storage.app_role import grant_app_role

LUA = """
local ids = {}
for line in io.lines("%(ids)s") do ids[#ids + 1] = line end
wrk.headers["Authorization"] = "Bearer %(token)s"
wrk.headers["User-Agent"] = "wrk-bench"
wrk.headers["Accept"] = "application/fhir+json"
math.randomseed(%(seed)d)
request = function()
  return wrk.format("GET", "%(prefix)s" .. ids[math.random(#ids)])
end
local statuses = {}
response = function(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end
done = function(summary, latency, requests)
  io.write(string.format("requests %%d in %%.2f s: %%.1f/s; errors: connect %%d, read %%d, write %%d, status %%d, timeout %%d\\n",
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.status,
    summary.errors.timeout))
  for _, p in ipairs({50, 90, 95, 99}) do
    io.write(string.format("latency p%%d %%.1f ms\\n", p, latency:percentile(p) / 1000))
  end
end
"""


def setup(db: Database, pool: int) -> tuple[str, list[int], list[str], str]:
    """A physician's read token, patients and birth names of its establishment. The trail's
    tables are analysed first: earlier benchmarks may have grown them faster than
    autovacuum's statistics follow, and a stale estimate turns the sealing pass's index
    scan into a sequential one. The patients' files are vacuumed as autovacuum would have
    after a load or a migration that rewrote them (0007): the search reads them from the
    index alone once their pages are marked all-visible."""
    with db.engine.connect() as conn:
        conn.execute(text("ANALYZE audit_events, audit_patients, audit_seals"))
        conn.commit()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE patients, patient_registrations"))
    with db.transaction() as s:
        username, est = s.execute(
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
        chosen = random.Random(5).sample(ids, min(pool, len(ids)))
        names = sorted(
            {
                quote(n)
                for n in s.scalars(select(Patient.birth_name).where(Patient.id.in_(chosen[:2000])))
            }
        )
        user = s.scalars(select(User).where(User.username == username)).one()
        secret = tokens.issue_token(
            s, user=user, scope="read", ttl=timedelta(hours=8), now=datetime.now(UTC),
            how="cli", details={"purpose": "bench/fhir_load.py"},
        ).secret  # fmt: skip
    return secret, chosen, names, f"physician {username}, establishment {est}"


def start_server(port: int, workers: int, url: str | None = None) -> subprocess.Popen[bytes]:
    command = [
        sys.executable, "-m", "uvicorn", "--factory", "hygie.app:create_app",
        "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
        "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip
    env = os.environ.copy()
    if url is not None:
        env["HYGIE_DATABASE_URL"] = url
    server = subprocess.Popen(command, env=env)  # noqa: S603 - fixed command
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/ready", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    server.terminate()
    raise SystemExit("the server did not become ready")


def run_wrk(port: int, prefix: str, values: list[str], token: str, args: argparse.Namespace) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        ids_file = Path(tmp, "values.txt")
        ids_file.write_text("\n".join(values) + "\n")
        script = Path(tmp, "bench.lua")
        script.write_text(LUA % {"ids": ids_file, "token": token, "prefix": prefix, "seed": 7})
        out = subprocess.run(  # noqa: S603 - fixed command
            ["wrk", "-t", str(args.threads), "-c", str(args.connections), "-d", f"{args.seconds}s",  # noqa: S607
             "-s", str(script), f"http://127.0.0.1:{port}"],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
    return out.stdout


def events(db: Database) -> int:
    with db.sessions() as s:
        return s.scalar(select(func.count()).select_from(AuditEvent)) or 0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn workers")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--pool", type=int, default=50_000, help="patients read at random")
    parser.add_argument("--warmup", type=int, default=10, help="seconds of warm-up per run")
    parser.add_argument("--only", choices=("read", "search"), default=None)
    parser.add_argument("--runs", type=int, default=1, help="measured runs of each kind")
    parser.add_argument(
        "--app-role", default=None, metavar="ROLE",
        help="serve as this role (created and granted with `hygie db grant-app-role`), bound "
        "by row-level security as in production, instead of the URL's own role",
    )  # fmt: skip
    args = parser.parse_args()
    settings = Settings.from_env()
    db = Database.from_settings(settings)
    token, ids, names, who = setup(db, args.pool)
    print(f"{who}; {len(ids):,} patients to read, {len(names):,} names to search")
    url = None
    if args.app_role:
        grant_app_role(db.engine, args.app_role)
        url = str(make_url(settings.database_url).set(username=args.app_role, password=None))
        print(f"server connected as {args.app_role} (row-level security applies)")
    server = start_server(args.port, args.workers, url)
    try:
        runs = [("read", "/fhir/Patient/", [str(i) for i in ids]),
                ("search", "/fhir/Patient?family=", names)]  # fmt: skip
        for label, prefix, values in runs:
            if args.only and label != args.only:
                continue
            # A short warm-up (connections, caches), then the measured runs.
            warm = argparse.Namespace(**{**vars(args), "seconds": args.warmup})
            run_wrk(args.port, prefix, values, token, warm)
            rates = []
            for n in range(1, args.runs + 1):
                before = events(db)
                out = run_wrk(args.port, prefix, values, token, args)
                added = events(db) - before
                print(f"--- GET {prefix}... ({args.connections} connections, {args.seconds} s, "
                      f"run {n} of {args.runs})")  # fmt: skip
                print(out.strip())
                print(f"trail: {added:,} events added during the run")
                rates.append(float(re.search(r" s: ([0-9.]+)/s", out).group(1)))  # type: ignore[union-attr]
            if len(rates) > 1:
                print(f"=== {label}: median {statistics.median(rates):.1f}/s, "
                      f"min {min(rates):.1f}/s, max {max(rates):.1f}/s over {len(rates)} runs")  # fmt: skip
    finally:
        server.terminate()
        server.wait(timeout=30)
        db.dispose()


if __name__ == "__main__":
    main()
