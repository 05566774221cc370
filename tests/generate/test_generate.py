"""The synthetic group: deterministic, valid NIRs, no duplicates, coherent records."""

from __future__ import annotations

from collections import Counter
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select, text

from hygie.db import Database, check_and_register_keys
from hygie.errors import ConflictError, ValidationError
from hygie.generate.runner import generate
from hygie.kit.crypto import Keyring
from hygie.kit.identifiers import parse_nir
from hygie.models import Appointment, AppointmentStatus, Base, Patient
from hygie.storage.encrypted import encrypted_columns

DAY = date(2026, 11, 2)
# Not the generated data: the key check and the trail (which records when it ran).
NOT_DATA = {
    "key_canaries",
    "alembic_version",
    "audit_events",
    "audit_head",
    "audit_patients",
    "audit_checkpoints",
    "audit_seals",
}


def _fresh(path: Path, ring: Keyring) -> Database:
    db = Database.open(f"sqlite:///{path}")
    db.upgrade()
    check_and_register_keys(db, ring)
    return db


def _dump(db: Database, ring: Keyring) -> dict[str, list[tuple[object, ...]]]:
    """Every table's rows, in id order, with encrypted values decrypted."""
    secret = {(c.table, c.column): c.context for c in encrypted_columns()}
    out = {}
    with db.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            if table.name in NOT_DATA:
                continue
            cols = [c.name for c in table.columns]
            rows = conn.execute(
                text(f"SELECT {', '.join(cols)} FROM {table.name} ORDER BY 1, 2")
            ).all()
            decrypted = [
                tuple(
                    ring.decrypt(v, secret[(table.name, col)])
                    if (table.name, col) in secret and v
                    else v
                    for col, v in zip(cols, row, strict=True)
                )
                for row in rows
            ]
            if table.name == "patients":
                decrypted = [_check_nir_hash(cols, row, ring) for row in decrypted]
            out[table.name] = decrypted
    return out


def _check_nir_hash(cols: list[str], row: tuple[object, ...], ring: Keyring) -> tuple[object, ...]:
    """The look-up hash depends on the installation's key: check it, then leave it out."""
    values = dict(zip(cols, row, strict=True))
    nir, digest = values["nir"], values["nir_hash"]
    assert digest == (ring.blind_index(str(nir), "patients.nir") if nir else None)
    return tuple(v for c, v in values.items() if c != "nir_hash")


def test_same_seed_same_data_whatever_the_workers(tmp_path: Path, keyring: Keyring) -> None:
    first = _fresh(tmp_path / "a.db", keyring)
    second = _fresh(tmp_path / "b.db", keyring)
    generate(first, keyring, establishments=5, patients=2000, seed=1, reference_date=DAY, workers=1)
    generate(
        second, keyring, establishments=5, patients=2000, seed=1, reference_date=DAY, workers=2
    )
    a, b = _dump(first, keyring), _dump(second, keyring)
    assert a.keys() == b.keys()
    for table in a:
        assert a[table] == b[table], f"{table} differs between runs"
    assert len(a["patients"]) == 2000


def test_parallel_chunks_equal_serial(tmp_path: Path, keyring: Keyring) -> None:
    serial = _fresh(tmp_path / "s.db", keyring)
    parallel = _fresh(tmp_path / "p.db", keyring)
    report = generate(
        serial, keyring, establishments=2, patients=4500, seed=7, reference_date=DAY, workers=1
    )
    assert report.chunks == 3
    generate(
        parallel, keyring, establishments=2, patients=4500, seed=7, reference_date=DAY, workers=2
    )
    assert _dump(serial, keyring) == _dump(parallel, keyring)


def test_another_seed_other_data(tmp_path: Path, keyring: Keyring) -> None:
    one = _fresh(tmp_path / "a.db", keyring)
    two = _fresh(tmp_path / "b.db", keyring)
    generate(one, keyring, establishments=1, patients=200, seed=1, reference_date=DAY, workers=1)
    generate(two, keyring, establishments=1, patients=200, seed=2, reference_date=DAY, workers=1)
    assert _dump(one, keyring)["patients"] != _dump(two, keyring)["patients"]


def test_generated_group_is_valid(db: Database, keyring: Keyring) -> None:
    report = generate(
        db, keyring, establishments=5, patients=2000, seed=1, reference_date=DAY, workers=1
    )
    assert report.rows["patients"] == 2000
    with db.sessions() as s:
        patients = s.scalars(select(Patient)).all()
        nirs = [p.nir for p in patients if p.nir]
        assert len(nirs) > 1800
        assert len(set(nirs)) == len(nirs), "duplicate NIR"
        for p in patients:
            if p.nir:
                nir = parse_nir(p.nir)  # the key check
                assert nir.sex == p.sex.value
                assert nir.birth_year_2 == p.birth_date.year % 100
        # No practitioner is booked twice at the same time.
        live = s.scalars(
            select(Appointment).where(Appointment.status != AppointmentStatus.CANCELLED)
        ).all()
        starts = Counter((a.practitioner_id, a.start_at) for a in live)
        assert max(starts.values()) == 1
        # Every patient is registered in at least one establishment.
        registered = s.execute(
            text("SELECT count(DISTINCT patient_id) FROM patient_registrations")
        ).scalar()
        assert registered == 2000


def test_refuses_a_database_that_holds_a_group(db: Database, keyring: Keyring) -> None:
    generate(db, keyring, establishments=1, patients=50, seed=1, reference_date=DAY, workers=1)
    before = _dump(db, keyring)
    with pytest.raises(ConflictError, match="already holds a group"):
        generate(db, keyring, establishments=1, patients=50, seed=1, reference_date=DAY, workers=1)
    assert _dump(db, keyring) == before


@pytest.mark.parametrize(("establishments", "patients"), [(0, 10), (51, 10), (1, 0)])
def test_bad_sizes(db: Database, keyring: Keyring, establishments: int, patients: int) -> None:
    with pytest.raises(ValidationError):
        generate(
            db,
            keyring,
            establishments=establishments,
            patients=patients,
            seed=1,
            reference_date=DAY,
        )


COHERENCE = {
    "records before birth": """
        SELECT count(*) FROM patients p WHERE p.created_at < p.birth_date
        OR EXISTS (SELECT 1 FROM appointments a WHERE a.patient_id = p.id AND a.start_at < p.birth_date)
        OR EXISTS (SELECT 1 FROM allergies a WHERE a.patient_id = p.id AND a.recorded_at < p.birth_date)
        OR EXISTS (SELECT 1 FROM amo_coverages c WHERE c.patient_id = p.id AND c.valid_from < p.birth_date)""",
    "activity after death": """
        SELECT count(*) FROM death_declarations d
        WHERE EXISTS (SELECT 1 FROM appointments a WHERE a.patient_id = d.patient_id AND a.start_at > d.died_at)
        OR EXISTS (SELECT 1 FROM conditions c WHERE c.patient_id = d.patient_id AND c.recorded_at > d.died_at)
        OR EXISTS (SELECT 1 FROM prescriptions r WHERE r.patient_id = d.patient_id AND r.status = 'active')
        OR EXISTS (SELECT 1 FROM encounters e WHERE e.patient_id = d.patient_id AND e.status = 'in_progress')""",
    "held appointments in the future": """
        SELECT count(*) FROM appointments WHERE status IN ('done', 'no_show', 'arrived') AND start_at >= :now""",
    "booked appointments in the past": """
        SELECT count(*) FROM appointments WHERE status = 'booked' AND start_at < :now""",
    "pregnancy for men": """
        SELECT count(*) FROM conditions c JOIN patients p ON p.id = c.patient_id
        WHERE p.sex = 'male' AND c.code LIKE 'O%'""",
    "AMO share without AMO coverage": """
        SELECT count(*) FROM invoices i WHERE i.amo_cents > 0 AND NOT EXISTS (
            SELECT 1 FROM amo_coverages c WHERE c.patient_id = i.patient_id)""",
}


def test_generated_records_are_coherent(db: Database, keyring: Keyring) -> None:
    from datetime import datetime, time
    from zoneinfo import ZoneInfo

    generate(db, keyring, establishments=2, patients=3000, seed=5, reference_date=DAY, workers=1)
    now = datetime.combine(DAY, time(0, 0), tzinfo=ZoneInfo("Europe/Paris"))
    param = now.astimezone(ZoneInfo("UTC")).replace(tzinfo=None) if db.dialect == "sqlite" else now
    with db.engine.connect() as conn:
        found = {
            name: conn.execute(text(sql), {"now": param}).scalar()
            for name, sql in COHERENCE.items()
        }
    assert found == dict.fromkeys(COHERENCE, 0)


def test_reference_date_is_bounded(db: Database, keyring: Keyring) -> None:
    with pytest.raises(ValidationError, match="between 2000-01-01"):
        generate(
            db, keyring, establishments=1, patients=10, seed=1, reference_date=date(9999, 12, 1)
        )


def test_generated_files_carry_their_patients_search_keys(tmp_path: Path, keyring: Keyring) -> None:
    from tests.patients.test_search_copies import assert_copies_hold

    db = _fresh(tmp_path / "copies.db", keyring)
    generate(db, keyring, establishments=3, patients=300, seed=4, reference_date=DAY, workers=1)
    assert assert_copies_hold(db) >= 300
