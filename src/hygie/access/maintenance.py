"""Operations on the whole database run by an operator from the command line: loading a
synthetic group and re-encrypting stored values under a new key. They touch patient
tables in bulk, so they live behind the gate and leave their trace in the trail."""

from __future__ import annotations

import getpass
from collections.abc import Callable
from datetime import date

from hygie import keys
from hygie.access import audit
from hygie.access.scope import system_database
from hygie.db import Database
from hygie.generate.runner import Report
from hygie.generate.runner import generate as run_generation
from hygie.kit.crypto import Keyring
from hygie.storage import organisation as org_store

init_key_file = keys.init_key_file


def operator() -> str:
    """The operating-system account running the command, as recorded in the trail."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (containers)
        return "unknown"


def _record(db: Database, *, action: str, count: int, details: dict[str, object]) -> None:
    with db.transaction() as session:
        audit.record(
            session,
            audit.Entry(
                action=action, outcome="allowed", how="cli", username=None,
                purpose="maintenance", record_count=count,
                details={"operator": operator(), **details},
            ),
        )  # fmt: skip


def record_operator_access(
    db: Database, *, action: str, count: int = 0, details: dict[str, object]
) -> None:
    """Record an operator's command on the trail itself (verifying, exporting): reading
    the trail is an access too. Written before the command's output leaves."""
    _record(db, action=action, count=count, details=details)


def holds_group(db: Database) -> bool:
    """Whether the database already holds an organisation (the demo then serves it)."""
    with db.sessions() as session:
        return org_store.has_group(session)


def generate_group(
    db: Database,
    ring: Keyring,
    *,
    establishments: int,
    patients: int,
    seed: int,
    reference_date: date,
    workers: int,
    progress: Callable[[int], None] | None = None,
) -> Report:
    """Load a synthetic group into an empty database, and say so in the trail."""
    report = run_generation(
        system_database(db), ring, establishments=establishments, patients=patients, seed=seed,
        reference_date=reference_date, workers=workers, progress=progress,
    )  # fmt: skip
    _record(
        db, action="synthetic.generate", count=patients,
        details={"establishments": establishments, "seed": seed, "reference_date": reference_date.isoformat()},
    )  # fmt: skip
    return report


def rotate_keys(
    db: Database,
    ring: Keyring,
    *,
    resume: bool,
    batch_size: int,
    progress: Callable[[int], None] | None = None,
    total: Callable[[int], None] | None = None,
) -> keys.RotationReport:
    report = keys.rotate(
        system_database(db),
        ring,
        resume=resume,
        batch_size=batch_size,
        progress=progress,
        total=total,
    )
    _record(
        db, action="keys.rotate", count=sum(report.reencrypted.values()),
        details={"active_key": report.new_key, "resume": resume},
    )  # fmt: skip
    return report


def key_status(db: Database) -> dict[str, dict[str, int]]:
    return keys.status(system_database(db))
