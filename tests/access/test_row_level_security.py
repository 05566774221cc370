"""Row-level security on PostgreSQL, the second wall behind the gate.

The data is written as the test superuser (whom row-level security never binds); every
check then runs as a throw-away application role granted exactly as `hygie db
grant-app-role` grants it, so nothing here passes thanks to a privilege the application
does not hold."""

from __future__ import annotations

import ast
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError, ProgrammingError

from hygie.access import gateway, history, writes
from hygie.access.actor import Actor, load_actor
from hygie.access.scope import EVERY_ESTABLISHMENT, gate_transaction
from hygie.clinical import service as clinical
from hygie.db import Database, scope_setting
from hygie.errors import ConflictError, NotFoundError
from hygie.models import AuditEvent, ClinicalNote, Patient
from hygie.patients import service as patients
from hygie.scheduling import service as scheduling
from hygie.staff import service as staff
from hygie.storage.app_role import grant_app_role
from tests.factories import DAY0, World, build_world, nir

pytestmark = pytest.mark.postgres


@dataclass(frozen=True)
class Group:
    world: World
    alice: int  # a file in A only
    bruno: int  # a file in B only
    chloe: int  # files in A and B; a note in each, an allergy recorded in B


def _patient(s: object, est: int, name: str, order: int) -> int:
    return patients.create_patient(
        s,  # type: ignore[arg-type]
        establishment_id=est, birth_name=name, birth_first_names=["Anne"], sex="female",
        birth_date=date(1970, 1, 1 + order), nir=nir(sex=2, yy=70, mm=1, order=order),
    ).patient.id  # fmt: skip


@pytest.fixture
def group(pg_db: Database) -> Group:
    """Written as the superuser, whom row-level security does not bind."""
    soon = datetime.now(UTC) + timedelta(days=2)
    with pg_db.transaction() as s:
        w = build_world(s)
        officer = staff.create_user(s, username="rssi.a", display_name="RSSI")
        staff.grant_habilitation(
            s, user_id=officer.id, establishment_id=w.est_a, role="security_officer",
            valid_from=DAY0,
        )  # fmt: skip
        alice, bruno, chloe = (
            _patient(s, w.est_a, "Martin", 1),
            _patient(s, w.est_b, "Marchand", 2),
            _patient(s, w.est_a, "Marais", 3),
        )
        patients.register_in_establishment(s, patient_id=chloe, establishment_id=w.est_b)
        for pid, est, doctor in ((alice, w.est_a, w.physician), (chloe, w.est_a, w.physician),
                                 (bruno, w.est_b, w.physician_b), (chloe, w.est_b, w.physician_b)):  # fmt: skip
            clinical.write_note(
                s, patient_id=pid, establishment_id=est, author_id=doctor, kind="consultation",
                text=f"note de {est}",
            )  # fmt: skip
            scheduling.book_appointment(
                s, patient_id=pid, practitioner_id=doctor, establishment_id=est, start_at=soon,
                duration_min=20, reason="Suivi",
            )  # fmt: skip
            soon += timedelta(hours=1)
        clinical.record_allergy(
            s, patient_id=chloe, establishment_id=w.est_b, substance="Pénicillines",
            reaction="urticaire", severity="severe", recorded_by_id=w.physician_b,
        )  # fmt: skip
    return Group(world=w, alice=alice, bruno=bruno, chloe=chloe)


@pytest.fixture
def app_role(pg_db: Database) -> Iterator[str]:
    name = f"hygie_app_{uuid.uuid4().hex[:12]}"
    grant_app_role(pg_db.engine, name)
    try:
        yield name
    finally:
        with pg_db.engine.begin() as conn:
            conn.execute(text(f'DROP OWNED BY "{name}"'))
            conn.execute(text(f'DROP ROLE "{name}"'))


@pytest.fixture
def app_db(pg_db: Database, app_role: str) -> Iterator[Database]:
    """The test database, connected as the application role (no scope of its own)."""
    url = pg_db.engine.url.set(username=app_role, password=None)
    database = Database.open(url.render_as_string(hide_password=False))
    try:
        yield database
    finally:
        database.dispose()


def actor(db: Database, username: str) -> Actor:
    with db.sessions() as s:  # accounts carry no row-level security
        return load_actor(s, username=username, how="api", ip="127.0.0.1", user_agent="pytest")


def count(db: Database, table: str, *, scope: str | None) -> int:
    with db.transaction(scope=scope) as s:
        return int(s.scalar(text(f"SELECT count(*) FROM {table}")) or 0)


PATIENT_TABLES = (
    "patients", "patient_registrations", "clinical_notes", "appointments", "allergies",
    "identity_events", "appointment_events",
)  # fmt: skip


def test_the_application_role_cannot_bypass_it(app_db: Database, app_role: str) -> None:
    with app_db.sessions() as s:
        row = s.execute(
            text("SELECT rolsuper, rolbypassrls, rolcreaterole FROM pg_roles WHERE rolname = :r"),
            {"r": app_role},
        ).one()
        forced = s.scalars(
            text("SELECT relname FROM pg_class WHERE relforcerowsecurity AND relrowsecurity")
        ).all()
    assert tuple(row) == (False, False, False)
    assert set(PATIENT_TABLES) <= set(forced)
    assert not {"audit_events", "users", "habilitations"} & set(forced)


def test_without_a_declared_scope_nothing_is_seen(group: Group, app_db: Database) -> None:
    for table in PATIENT_TABLES:
        assert count(app_db, table, scope=None) == 0, table
        assert count(app_db, table, scope="") == 0, table  # an empty scope: nothing either
    # Plain sessions and core connections declare nothing either.
    with app_db.sessions() as s:
        assert s.scalars(select(Patient)).all() == []
    with app_db.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM clinical_notes")) == 0


def test_without_a_declared_scope_nothing_is_written(group: Group, app_db: Database) -> None:
    w = group.world
    with pytest.raises(ProgrammingError, match="row-level security"), app_db.transaction() as s:
        _patient(s, w.est_a, "Nouveau", 9)
    with pytest.raises(ProgrammingError, match="row-level security"), app_db.transaction() as s:
        s.add(ClinicalNote(patient_id=group.alice, establishment_id=w.est_a,
                           author_id=w.physician, kind="consultation", text="x"))  # fmt: skip
    # Rows that are invisible cannot be changed either: nothing matches.
    with app_db.transaction() as s:
        assert s.execute(text("UPDATE patients SET city = 'X'")).rowcount == 0  # type: ignore[attr-defined]
        assert s.execute(text("DELETE FROM clinical_notes")).rowcount == 0  # type: ignore[attr-defined]
    assert count(app_db, "clinical_notes", scope="*") == 4


def test_a_scope_shows_its_establishments_only(group: Group, app_db: Database) -> None:
    w = group.world
    with gate_transaction(app_db, frozenset({w.est_a})) as s:
        seen = set(s.scalars(select(Patient.id)))
        notes = set(s.scalars(select(ClinicalNote.establishment_id)))
        chloe_files = s.scalars(
            text("SELECT establishment_id FROM patient_registrations WHERE patient_id = :p"),
            {"p": group.chloe},
        ).all()
        chloe_allergies = s.scalar(
            text("SELECT count(*) FROM allergies WHERE patient_id = :p"), {"p": group.chloe}
        )
    assert seen == {group.alice, group.chloe}
    assert notes == {w.est_a}
    assert chloe_files == [w.est_a]
    # An allergy follows the patient wherever it was recorded (the prescription check).
    assert chloe_allergies == 1
    with gate_transaction(app_db, frozenset({w.est_b})) as s:
        assert set(s.scalars(select(Patient.id))) == {group.bruno, group.chloe}
    with gate_transaction(app_db, EVERY_ESTABLISHMENT) as s:
        assert set(s.scalars(select(Patient.id))) == {group.alice, group.bruno, group.chloe}
    assert count(app_db.scoped(EVERY_ESTABLISHMENT), "clinical_notes", scope=None) == 4


def test_a_scope_writes_its_establishments_only(group: Group, app_db: Database) -> None:
    w = group.world
    only_a = frozenset({w.est_a})
    with gate_transaction(app_db, only_a) as s:  # an identity, then its file, as the gate does
        created = _patient(s, w.est_a, "Nouveau", 9)
        clinical.write_note(s, patient_id=created, establishment_id=w.est_a,
                            author_id=w.physician, kind="consultation", text="première")  # fmt: skip
    with gate_transaction(app_db, only_a) as s:
        assert s.get(Patient, created) is not None
    refused = pytest.raises(ProgrammingError, match="row-level security")
    with refused, gate_transaction(app_db, only_a) as s:  # its file would be in B
        _patient(s, w.est_b, "Ailleurs", 8)
    with pytest.raises(DBAPIError), gate_transaction(app_db, only_a) as s:
        s.execute(
            text("INSERT INTO clinical_notes (patient_id, establishment_id, author_id, kind, "
                 "written_at, text) VALUES (:p, :e, :a, 'consultation', now(), 'x')"),
            {"p": group.chloe, "e": w.est_b, "a": w.physician_b},
        )  # fmt: skip
    with gate_transaction(app_db, only_a) as s:  # B's rows cannot be moved into A's sight
        assert s.execute(text("UPDATE clinical_notes SET establishment_id = :a WHERE "
                              "establishment_id = :b"), {"a": w.est_a, "b": w.est_b}).rowcount == 0  # type: ignore[attr-defined]  # fmt: skip
    refused = pytest.raises(ProgrammingError, match="row-level security")
    with refused, gate_transaction(app_db, only_a) as s:  # nor A's moved out of it
        s.execute(text("UPDATE clinical_notes SET establishment_id = :b WHERE "
                       "establishment_id = :a"), {"a": w.est_a, "b": w.est_b})  # fmt: skip


def test_the_gate_finds_only_the_actors_establishments(group: Group, app_db: Database) -> None:
    dr_a = actor(app_db, "dr.a")
    found = gateway.search_patients(app_db, dr_a, name="mar")
    assert {p.id for p in found} == {group.alice, group.chloe}
    assert dict((p.id, p.establishment_ids) for p in found)[group.chloe] == (group.world.est_a,)
    with pytest.raises(NotFoundError):
        gateway.read_chart(app_db, dr_a, group.bruno)
    chart = gateway.read_chart(app_db, dr_a, group.chloe)
    assert [n["text"] for n in chart.blocks["notes"]] == [f"note de {group.world.est_a}"]
    assert [a["substance"] for a in chart.blocks["allergies"]] == ["Pénicillines"]
    assert chart.basis == "appointment"
    dr_b = actor(app_db, "dr.b")
    assert {p.id for p in gateway.search_patients(app_db, dr_b, name="mar")} == {
        group.bruno,
        group.chloe,
    }
    with gate_transaction(app_db, EVERY_ESTABLISHMENT) as s:
        trail = s.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)).all()
    assert trail == ["patient.search", "chart.read", "chart.read", "patient.search"]


def test_every_gate_path_declares_its_scope(group: Group, app_db: Database) -> None:
    """Break-the-glass, the access history and the review queue, as the application role:
    a path that declared no scope would find nothing here."""
    nurse, officer = actor(app_db, "ide.a"), actor(app_db, "rssi.a")
    assert "notes" in gateway.read_chart(app_db, nurse, group.alice).withheld
    grant = gateway.break_glass(
        app_db, nurse, patient_id=group.alice, reason_code="emergency",
        reason_text="Malaise en salle d'attente",
    )  # fmt: skip
    assert "notes" in gateway.read_chart(app_db, nurse, group.alice).blocks
    lines = history.access_history(app_db, officer, group.alice)
    assert [line.action for line in lines] == ["chart.read", "break_glass", "chart.read"]
    assert [g.id for g in history.pending_reviews(app_db, officer)] == [grant.id]
    reviewed = history.review_break_glass(
        app_db, officer, grant_id=grant.id, outcome="justified", note="Urgence avérée"
    )
    assert reviewed.reviewed_by_id == officer.user_id
    with pytest.raises(NotFoundError):
        history.access_history(app_db, officer, group.bruno)


def test_writes_through_the_gate_under_its_scope(group: Group, app_db: Database) -> None:
    w, dr_a = group.world, actor(app_db, "dr.a")
    created = writes.create_patient(
        app_db, actor(app_db, "sec.a"), establishment_id=w.est_a, birth_name="Nouveau",
        birth_first_names=["Léa"], sex="female", birth_date=date(1990, 2, 3),
    ).patient.id  # fmt: skip
    assert [p.id for p in gateway.search_patients(app_db, dr_a, name="nouveau")] == [created]
    writes.write_note(app_db, dr_a, patient_id=group.alice, establishment_id=w.est_a,
                      kind="consultation", text="Revu ce jour")  # fmt: skip
    # The allergy recorded in B stops a prescription in A: allergies follow the patient.
    with pytest.raises(ConflictError, match="allergic"):
        writes.prescribe(app_db, dr_a, patient_id=group.chloe, establishment_id=w.est_a,
                         drug_code="D0031", dose="1 g", frequency="3 fois par jour",
                         duration_days=7)  # fmt: skip
    with pytest.raises(NotFoundError):  # B's patient stays out of sight for writes too
        writes.write_note(app_db, dr_a, patient_id=group.bruno, establishment_id=w.est_b,
                          kind="consultation", text="Tentative")  # fmt: skip
    assert count(app_db, "clinical_notes", scope="*") == 5


def test_the_trail_is_append_only_for_the_application_role(group: Group, app_db: Database) -> None:
    gateway.search_patients(app_db, actor(app_db, "dr.a"), name="mar")  # it may append
    refused = {
        "UPDATE audit_events SET action = 'x'": "permission denied",
        "DELETE FROM audit_events": "permission denied",
        "TRUNCATE audit_events": "permission denied",
        "UPDATE audit_checkpoints SET active = false": "permission denied",
        "DELETE FROM audit_head": "permission denied",
        "TRUNCATE patients": "permission denied",
        "DROP TRIGGER audit_events_append_only ON audit_events": "must be owner",
        "ALTER TABLE patients DISABLE ROW LEVEL SECURITY": "must be owner",
        "ALTER TABLE patients NO FORCE ROW LEVEL SECURITY": "must be owner",
        "DROP POLICY patients_read ON patients": "must be owner",
        "SET ROLE root": "permission denied",
    }
    for statement, error in refused.items():
        with pytest.raises(ProgrammingError, match=error), app_db.begin() as conn:
            conn.execute(text(statement))
    with app_db.sessions() as s:
        assert s.scalar(select(AuditEvent.action)) == "patient.search"


def test_a_failed_declaration_fails_the_transaction(
    group: Group, app_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(DBAPIError), app_db.transaction(scope="1;2") as s:
        s.scalars(select(Patient.id)).all()  # not a list of ids: refused, not widened
    monkeypatch.setattr("hygie.db._DECLARE_SCOPE", text("SELECT set_config(:scope)"))
    with pytest.raises(DBAPIError):
        gateway.read_chart(app_db, actor(app_db, "dr.a"), group.alice)
    monkeypatch.undo()
    with app_db.sessions() as s:  # neither the read nor its audit event happened
        assert s.scalars(select(AuditEvent.id)).all() == []


def test_scope_settings() -> None:
    assert scope_setting(None) == "*"
    assert scope_setting(frozenset({12, 3})) == "3,12"
    assert scope_setting(frozenset()) == ""
    for bad in ({0}, {True}, {"1"}):
        with pytest.raises(ValueError, match="not establishment ids"):
            scope_setting(frozenset(bad))  # type: ignore[arg-type]


# Gate modules that open plain sessions, and why that is safe: the tables they read carry
# no row-level security. Every other session of the gate is a gate_transaction.
PLAIN_SESSIONS_ALLOWED = {
    "scope": "opens the scoped transactions themselves",
    "audit": "the trail only",
    "trail": "the trail only",
    "trail_fast": "the trail only",
    "trail_export": "the trail only",
    "sealing": "the trail only",
    "maintenance": "the trail and the organisation; bulk work runs on system_database()",
    "accounts": "accounts and establishments only",
    "containment": "decoy ids and norms only, for accesses on the direct connections",
    "demo": "the trail and the demo accounts' credentials only",
}


def test_the_gate_opens_no_unscoped_session() -> None:
    """The test suite runs as a superuser, whom row-level security does not bind: a gate
    path that declared no scope would pass every other test and find nothing in
    production. So the gate's modules are read for plain session calls."""
    package = Path(gateway.__file__).parent
    found = []
    for path in sorted(package.glob("*.py")):
        if path.stem in PLAIN_SESSIONS_ALLOWED:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in {"transaction", "sessions", "begin", "connect"}
            ):
                found.append(f"{path.name}:{node.lineno} .{node.func.attr}()")
    assert found == [], "use hygie.access.scope.gate_transaction"


def test_a_new_name_reaches_the_files_the_writer_cannot_see(
    group: Group, app_db: Database, pg_db: Database
) -> None:
    """A's secretary renames a patient filed in A and B: B's file takes the new name too
    (search copies, migration 0007), although row-level security hides it from her, and B's
    physician finds the patient by it. Nothing else of B becomes visible to her."""
    from hygie.access import records, writes_identity
    from hygie.models import PatientRegistration

    secretary = actor(app_db, "sec.a")
    writes_identity.update_identity(app_db, secretary, patient_id=group.chloe, birth_name="Zorro")
    with pg_db.sessions() as s:
        files = s.scalars(
            select(PatientRegistration).where(PatientRegistration.patient_id == group.chloe)
        ).all()
    assert sorted((f.establishment_id, f.birth_name_key) for f in files) == [
        (group.world.est_a, "ZORRO"), (group.world.est_b, "ZORRO"),
    ]  # fmt: skip
    doctor_b = actor(app_db, "dr.b")
    found = records.find_patients(app_db, doctor_b, records.PatientQuery(family="Zorro"))
    assert [p.id for p in found.patients] == [group.chloe]
    assert records.find_patients(app_db, doctor_b, records.PatientQuery(family="Marais")).total == 0
    seen = records.find_patients(app_db, secretary, records.PatientQuery(family="Zorro"))
    assert [p.establishment_ids for p in seen.patients] == [(group.world.est_a,)]
