"""Exports of patient lists through the gate: a small one is ready at once, a bulk one
waits for a second person's approval (four eyes), is limited to its frozen patient list
and its validity, is downloaded once and encrypted; every download is in the trail with
every patient named, and a run of small exports is contained like any harvest."""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pyrage
import pytest
from sqlalchemy import select

from hygie.access import export_file, exports, gateway, impact
from hygie.access.actor import Actor, load_actor
from hygie.access.containment import Contained
from hygie.access.detection import Response
from hygie.access.exports import ExportPolicy, ExportSpec
from hygie.access.gateway import AccessDenied
from hygie.db import Database
from hygie.errors import ConfigurationError, ConflictError, NotFoundError, ValidationError
from hygie.kit import clock
from hygie.models import AuditEvent, User
from hygie.patients import service as patients
from hygie.scheduling import service as scheduling
from hygie.staff import service as staff
from tests.factories import DAY0, World

T0 = datetime.now(UTC).replace(hour=8, minute=0, second=0, microsecond=0)
PER_DAY = 20
DAYS = 8
POLICY = ExportPolicy(bulk_threshold=50, valid_for=timedelta(hours=24))
PASSPHRASE = "une phrase de passe assez longue"


@pytest.fixture
def now() -> Iterator[list[datetime]]:
    """The gate's clock: 0.2 s more at each reading; tests move it on by hand."""
    at = [T0]

    def read() -> datetime:
        at[0] += timedelta(milliseconds=200)
        return at[0]

    with clock.virtual(read):
        yield at


def actor(db: Database, username: str, session_id: int | None = 1) -> Actor:
    with db.sessions() as s:
        return load_actor(s, username=username, how="api", session_id=session_id,
                          ip="10.1.1.1", user_agent="pytest")  # fmt: skip


@pytest.fixture
def booked(db: Database, world: World, now: list[datetime]) -> dict[date, list[int]]:
    """PER_DAY patients of establishment A with an appointment on each of the DAYS days
    after today (Paris), and a security officer of A."""
    days: dict[date, list[int]] = {}
    with db.transaction() as s:
        for d in range(DAYS):
            day = (T0 + timedelta(days=d + 1)).date()
            for i in range(PER_DAY):
                n = d * PER_DAY + i
                p = patients.create_patient(
                    s, establishment_id=world.est_a, birth_name=f"Export{chr(65 + n % 26)}{chr(65 + n // 26)}",
                    birth_first_names=["Lou"], sex="female", birth_date=date(1960, 1, 1 + n % 28),
                ).patient  # fmt: skip
                scheduling.book_appointment(
                    s, patient_id=p.id, practitioner_id=world.physician,
                    establishment_id=world.est_a,
                    start_at=datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=9, minutes=15 * i),
                    duration_min=15, reason="Consultation", now=T0,
                )  # fmt: skip
                days.setdefault(day, []).append(p.id)
        officer = staff.create_user(s, username="rssi.a", display_name="RSSI")
        staff.grant_habilitation(s, user_id=officer.id, establishment_id=world.est_a,
                                 role="security_officer", valid_from=DAY0)  # fmt: skip
    return days


def day_list(world: World, day: date, categories: tuple[str, ...] = ("contact",)) -> ExportSpec:
    return ExportSpec(
        establishment_id=world.est_a, basis="appointments", categories=categories,
        purpose="Rappel des rendez-vous par SMS", start=day, end=day + timedelta(days=1),
    )  # fmt: skip


def every_file(world: World) -> ExportSpec:
    return ExportSpec(
        establishment_id=world.est_a, basis="files", categories=("contact", "coverage"),
        purpose="Reprise des données par le nouveau logiciel de facturation",
    )  # fmt: skip


def rows(content: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(content.decode("utf-8"))))


def downloads(db: Database) -> list[AuditEvent]:
    with db.sessions() as s:
        return list(
            s.scalars(select(AuditEvent).where(AuditEvent.action == "export.download")
                      .order_by(AuditEvent.id))
        )  # fmt: skip


def test_a_small_export_is_ready_downloaded_once_and_in_the_trail(
    db: Database, world: World, booked: dict[date, list[int]]
) -> None:
    sec = actor(db, "sec.a")
    day = min(booked)
    line = exports.request_export(db, sec, day_list(world, day), policy=POLICY)
    assert (line.status, line.bulk, line.patient_count) == ("ready", False, PER_DAY)
    assert line.categories == ["identity", "contact", "appointments"]
    made = exports.download_export(db, sec, line.id)
    assert not made.encrypted and made.media_type.startswith("text/csv")
    got = rows(made.content)
    assert sorted(int(r["patient_id"]) for r in got) == sorted(booked[day])
    assert all(r["appointments"] and "practitioner" in r["appointments"] for r in got)
    assert "address_line" in got[0] and "amo_fund" not in got[0]  # only what was asked
    (event,) = downloads(db)
    assert (event.how, event.level, event.outcome) == ("api", "record", "allowed")
    assert sorted(event.patient_ids) == sorted(booked[day])
    assert sorted(event.categories) == ["appointments", "contact", "identity"]
    assert event.details["export_id"] == line.id
    with pytest.raises(ConflictError, match="downloaded"):
        exports.download_export(db, sec, line.id)
    assert len(downloads(db)) == 1


def test_a_bulk_export_needs_another_persons_approval_and_is_encrypted(
    db: Database, world: World, booked: dict[date, list[int]], now: list[datetime]
) -> None:
    sec, officer, dr = actor(db, "sec.a"), actor(db, "rssi.a"), actor(db, "dr.a")
    everyone = sorted(p for ps in booked.values() for p in ps)
    line = exports.request_export(db, sec, every_file(world), policy=POLICY)
    assert (line.status, line.bulk, line.patient_count) == ("pending", True, len(everyone))
    with pytest.raises(ConflictError, match="approval"):
        exports.download_export(db, sec, line.id, passphrase=PASSPHRASE)
    with pytest.raises(AccessDenied, match="security officer"):
        exports.decide_export(db, dr, line.id, approve=True, comment="Je valide ma demande")
    # The officer sees it waiting; the physician does not.
    assert [x.id for x in exports.list_exports(db, officer)] == [line.id]
    assert exports.list_exports(db, dr) == []
    # A patient registered after the request is not in the approved list.
    with db.transaction() as s:
        late = patients.create_patient(
            s, establishment_id=world.est_a, birth_name="Tardif", birth_first_names=["Max"],
            sex="male", birth_date=date(1990, 5, 5),
        ).patient.id  # fmt: skip
    approved = exports.decide_export(
        db, officer, line.id, approve=True, comment="Reprise validée par la direction",
        policy=POLICY,
    )  # fmt: skip
    assert approved.status == "approved" and approved.decided_by_id == officer.user_id
    with pytest.raises(ValidationError) as no_key:
        exports.download_export(db, sec, line.id)
    assert no_key.value.field == "passphrase"
    made = exports.download_export(db, sec, line.id, passphrase=PASSPHRASE)
    assert made.encrypted and made.filename.endswith(".csv.age")
    assert made.content.startswith(b"age-encryption.org/v1")
    got = rows(pyrage.passphrase.decrypt(made.content, PASSPHRASE))
    assert [int(r["patient_id"]) for r in got] == everyone and late not in everyone
    assert {"amo_fund", "email", "nir"} <= set(got[0])
    assert got[0]["nir"] == "" or "*" in got[0]["nir"] or len(got[0]["nir"]) == 15
    (event,) = downloads(db)
    assert sorted(event.patient_ids) == everyone
    assert event.details["approved_by_id"] == officer.user_id
    # Vouched for: the requester's ordinary work goes on (no norm holds it against them).
    for patient in everyone[:5]:
        gateway.read_chart(db, sec, patient)
    # The impact report of the account counts the export.
    report = impact.exposure_report(
        db, impact.operator_actor(), username="sec.a", since=T0 - timedelta(hours=1),
        until=now[0] + timedelta(minutes=1),
    )  # fmt: skip
    assert set(everyone) <= {p.patient_id for p in report.patients}


def test_a_small_export_is_encrypted_when_asked_with_a_long_enough_passphrase(
    db: Database, world: World, booked: dict[date, list[int]]
) -> None:
    sec = actor(db, "sec.a")
    day = min(booked)
    line = exports.request_export(db, sec, day_list(world, day), policy=POLICY)
    with pytest.raises(ValidationError) as short:
        exports.download_export(db, sec, line.id, passphrase="court")
    assert short.value.field == "passphrase"
    made = exports.download_export(db, sec, line.id, passphrase=PASSPHRASE)
    assert made.encrypted
    got = rows(pyrage.passphrase.decrypt(made.content, PASSPHRASE))
    assert sorted(int(r["patient_id"]) for r in got) == sorted(booked[day])


def test_nobody_approves_their_own_export(
    db: Database, world: World, booked: dict[date, list[int]]
) -> None:
    with db.transaction() as s:  # the officer also works at reception
        user = s.scalars(select(User).where(User.username == "rssi.a")).one()
        staff.grant_habilitation(s, user_id=user.id, establishment_id=world.est_a,
                                 role="secretary", valid_from=DAY0)  # fmt: skip
    both = actor(db, "rssi.a")
    line = exports.request_export(db, both, every_file(world), policy=POLICY)
    with pytest.raises(AccessDenied, match="four eyes"):
        exports.decide_export(db, both, line.id, approve=True, comment="Je valide moi-même")
    with db.sessions() as s:
        refused = s.scalars(select(AuditEvent).where(AuditEvent.action == "export.approve")).one()
    assert refused.outcome == "denied" and "four eyes" in (refused.reason or "")


def test_an_approval_is_limited_in_time_and_a_refusal_is_final(
    db: Database, world: World, booked: dict[date, list[int]], now: list[datetime]
) -> None:
    sec, officer = actor(db, "sec.a"), actor(db, "rssi.a")
    first = exports.request_export(db, sec, every_file(world), policy=POLICY)
    exports.decide_export(db, officer, first.id, approve=True, comment="Reprise validée",
                          policy=POLICY)  # fmt: skip
    now[0] += timedelta(hours=25)
    with pytest.raises(ConflictError, match="expired"):
        exports.download_export(db, sec, first.id, passphrase=PASSPHRASE)
    assert exports.list_exports(db, sec)[0].status == "expired"
    second = exports.request_export(db, sec, every_file(world), policy=POLICY)
    exports.decide_export(db, officer, second.id, approve=False, comment="Pas de motif valable")
    with pytest.raises(ConflictError, match="refused"):
        exports.download_export(db, sec, second.id, passphrase=PASSPHRASE)
    with pytest.raises(ConflictError, match="refused"):
        exports.decide_export(db, officer, second.id, approve=True, comment="Finalement oui")
    assert downloads(db) == []


def test_what_may_be_exported_and_by_whom(
    db: Database, world: World, booked: dict[date, list[int]]
) -> None:
    sec, nurse, dr = actor(db, "sec.a"), actor(db, "ide.a"), actor(db, "dr.a")
    day = min(booked)
    with pytest.raises(ValidationError, match="clinical content") as clinical:
        exports.request_export(db, dr, day_list(world, day, ("allergies",)), policy=POLICY)
    assert clinical.value.field == "categories"
    with pytest.raises(AccessDenied, match="coverage"):  # a nurse reads no coverage
        exports.request_export(db, nurse, day_list(world, day, ("coverage",)), policy=POLICY)
    with pytest.raises(AccessDenied, match="no role"):
        exports.request_export(
            db, sec, ExportSpec(establishment_id=world.est_b, basis="files", categories=(),
                                purpose="Liste des patients de B"), policy=POLICY,
        )  # fmt: skip
    with pytest.raises(ValidationError) as short:
        exports.request_export(
            db, sec, ExportSpec(establishment_id=world.est_a, basis="files", categories=(),
                                purpose="liste"), policy=POLICY,
        )  # fmt: skip
    assert short.value.field == "purpose"
    with pytest.raises(ValidationError) as backwards:
        exports.request_export(
            db, sec, ExportSpec(establishment_id=world.est_a, basis="stays", categories=(),
                                purpose="Liste des séjours", start=day, end=day),
            policy=POLICY,
        )  # fmt: skip
    assert backwards.value.field == "end"
    line = exports.request_export(db, sec, day_list(world, day), policy=POLICY)
    with pytest.raises(NotFoundError):  # somebody else's export is not theirs to fetch
        exports.download_export(db, dr, line.id)
    with db.sessions() as s:
        denied = s.scalars(
            select(AuditEvent).where(AuditEvent.action == "export.request",
                                     AuditEvent.outcome == "denied")
        ).all()  # fmt: skip
    assert len(denied) == 2  # the refused requests are in the trail; bad input is not


def test_a_bulk_export_is_downloaded_in_a_session_and_officers_do_not_export(
    db: Database, world: World, booked: dict[date, list[int]]
) -> None:
    sec, officer = actor(db, "sec.a"), actor(db, "rssi.a")
    line = exports.request_export(db, sec, every_file(world), policy=POLICY)
    exports.decide_export(db, officer, line.id, approve=True, comment="Reprise validée",
                          policy=POLICY)  # fmt: skip
    with_token = actor(db, "sec.a", session_id=None)
    with pytest.raises(AccessDenied, match="signed-in session"):
        exports.download_export(db, with_token, line.id, passphrase=PASSPHRASE)
    assert exports.download_export(db, sec, line.id, passphrase=PASSPHRASE).encrypted
    # The officer reads identities to find a patient's access history, not to export them.
    with pytest.raises(AccessDenied):
        exports.request_export(db, officer, every_file(world), policy=POLICY)
    with pytest.raises(NotFoundError):  # a probe for an export: refused and recorded
        exports.decide_export(db, officer, 999, approve=True, comment="Je tente ma chance")
    with db.sessions() as s:
        probes = s.scalars(
            select(AuditEvent).where(AuditEvent.action == "export.approve",
                                     AuditEvent.outcome == "denied")
        ).all()  # fmt: skip
    assert len(probes) == 1


def test_dates_out_of_any_sane_range_are_refused(db: Database, world: World) -> None:
    spec = ExportSpec(establishment_id=world.est_a, basis="stays", categories=(),
                      purpose="Liste des séjours", start=date(1, 1, 1), end=date(1, 1, 2))  # fmt: skip
    with pytest.raises(ValidationError) as early:
        exports.request_export(db, actor(db, "sec.a"), spec, policy=POLICY)
    assert early.value.field == "start"


def test_a_run_of_small_exports_is_contained_before_a_hundred_patients(
    db: Database, world: World, booked: dict[date, list[int]]
) -> None:
    """Day list after day list, each under the bulk threshold: the export norm (50
    patients a day) asks for a fresh code, which the thief cannot give, then contains."""
    thief = actor(db, "sec.a")
    received: set[int] = set()
    stopped = None
    for day in itertools.islice(itertools.cycle(sorted(booked)), 30):  # trying again and again
        try:
            line = exports.request_export(db, thief, day_list(world, day), policy=POLICY)
            made = exports.download_export(db, thief, line.id)
        except Contained as refused:
            if refused.response == Response.CONTAIN:
                stopped = refused.response
                break
            continue
        except AccessDenied:  # locked: its session is gone
            stopped = Response.CONTAIN
            break
        received |= {int(r["patient_id"]) for r in rows(made.content)}
    assert stopped == Response.CONTAIN
    assert 0 < len(received) < 100
    with db.sessions() as s:
        user = s.scalars(select(User).where(User.username == "sec.a")).one()
    assert user.locked_at is not None
    exported = {p for e in downloads(db) if e.outcome == "allowed" for p in e.patient_ids}
    assert exported == received  # the trail holds exactly what left


def test_the_export_settings_come_from_the_environment() -> None:
    assert exports.policy_from_env({}) == ExportPolicy()
    got = exports.policy_from_env(
        {"HYGIE_EXPORT_BULK_THRESHOLD": "200", "HYGIE_EXPORT_VALID_HOURS": "4"}
    )
    assert got == ExportPolicy(bulk_threshold=200, valid_for=timedelta(hours=4))
    with pytest.raises(ConfigurationError, match="HYGIE_EXPORT_BULK_THRESHOLD"):
        exports.policy_from_env({"HYGIE_EXPORT_BULK_THRESHOLD": "-1"})


@pytest.mark.parametrize(
    ("value", "cell"),
    [("=HYPERLINK(1)", "'=HYPERLINK(1)"), ("@SUM(A1)", "'@SUM(A1)"), ("+33612345678", "+33612345678"),
     ("-x", "'-x"), ("Dupont", "Dupont"), (None, ""), (True, "yes")],
)  # fmt: skip
def test_cells_cannot_run_as_spreadsheet_formulas(value: object, cell: str) -> None:
    assert export_file.cell(value) == cell
