"""Key management: creating the key file and rotating encryption keys.

Rotation adds a key, makes it the active one, registers it with the database, saves the
key file, then re-encrypts existing values in batches, one committed transaction per
batch. Old keys stay in the file, so every value stays readable during and after the
rotation, and an interrupted rotation is finished by running ``hygie keys rotate
--resume``. Running servers keep the keyring they started with: restart them after a
rotation so that they read values under the new key and write with it."""

from __future__ import annotations

import fcntl
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from hygie.db import Database, check_and_register_keys
from hygie.errors import ConfigurationError
from hygie.kit.crypto import Keyring
from hygie.storage import encrypted


def init_key_file(path: Path) -> Keyring:
    """Create a new key file; refuses to overwrite one (that would lose every key)."""
    if path.exists():
        raise ConfigurationError(
            f"key file {path} already exists; it holds the keys of existing data and is never "
            "overwritten (use `hygie keys rotate` to change keys)"
        )
    if not path.parent.exists():
        raise ConfigurationError(f"directory {path.parent} does not exist")
    ring = Keyring.generate()
    ring.save(path)
    return ring


@dataclass
class RotationReport:
    new_key: str
    reencrypted: dict[str, int]


def rotate(
    db: Database,
    ring: Keyring,
    *,
    resume: bool = False,
    batch_size: int = 1000,
    progress: Callable[[int], None] | None = None,
    total: Callable[[int], None] | None = None,
) -> RotationReport:
    if ring.path is None:
        raise ConfigurationError("the keyring was not loaded from a file")
    with _exclusive(ring.path):
        return _rotate(db, ring, ring.path, resume, batch_size, progress, total)


@contextmanager
def _exclusive(path: Path) -> Iterator[None]:
    """One rotation at a time per key file: two would each add a "k2" and one be lost."""
    lock_path = path.with_name(path.name + ".lock")
    with open(lock_path, "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ConfigurationError(f"another key rotation is running ({lock_path})") from None
        yield


def _rotate(
    db: Database,
    ring: Keyring,
    path: Path,
    resume: bool,
    batch_size: int,
    progress: Callable[[int], None] | None,
    total: Callable[[int], None] | None,
) -> RotationReport:
    ring = Keyring.load(path)  # re-read under the lock
    check_and_register_keys(db, ring)
    if not resume:
        ring.add_key()
        # The database learns the new key before any value is encrypted with it, and the
        # file is saved before any value is: a crash in between loses nothing.
        check_and_register_keys(db, ring)
        ring.save(path)
    active = ring.active_id
    columns = encrypted.encrypted_columns()
    if total is not None:
        with db.connect() as conn:
            total(sum(encrypted.count_not_under(conn, c, active) for c in columns))
    done: dict[str, int] = {}
    for col in columns:
        name = f"{col.table}.{col.column}"
        done[name] = 0
        after = 0
        while True:
            with db.begin() as conn:
                batch = encrypted.batch_not_under(
                    conn, col, active, after_id=after, limit=batch_size
                )
                if not batch:
                    break
                fresh = [
                    (i, ring.encrypt(ring.decrypt(v, col.context), col.context)) for i, v in batch
                ]
                encrypted.write_values(conn, col, fresh)
            after = batch[-1][0]
            done[name] += len(batch)
            if progress is not None:
                progress(len(batch))
    return RotationReport(new_key=active, reencrypted=done)


def status(db: Database) -> dict[str, dict[str, int]]:
    """For each encrypted column, how many values each key encrypts."""
    with db.connect() as conn:
        return {
            f"{c.table}.{c.column}": encrypted.count_by_key(conn, c)
            for c in encrypted.encrypted_columns()
        }
