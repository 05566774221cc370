"""The impact report of a breach (``access.impact``): exactly the patients an account
received in a period, at the right level and with the right data, from the trail."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from hygie.access import audit, gateway, impact, writes
from hygie.access.actor import Actor, load_actor
from hygie.access.policy import Category
from hygie.clinical import service as clinical
from hygie.db import Database
from hygie.errors import HygieError, NotFoundError, ValidationError
from hygie.models import AuditEvent, AuditPatient
from hygie.patients import service as patients
from hygie.scheduling import service as scheduling
from hygie.staff import service as staff
from tests.factories import DAY0, World, build_world

WEB: dict[str, Any] = {"how": "web", "ip": "10.0.0.7", "session_id": 11}
API: dict[str, Any] = {"how": "api", "ip": "10.0.0.8", "token_id": 5, "token_scope": "write"}


@dataclass
class Scenario:
    """A suspect account (dr.a, physician in A and B) and what it received."""

    world: World
    ids: dict[str, int]  # patient name -> id
    since: datetime
    until: datetime
    # patient name -> (level, categories) the operator's report must show, nothing else.
    expected: dict[str, tuple[str, set[str]]] = field(default_factory=dict)

    def id_of(self, *names: str) -> list[int]:
        return sorted(self.ids[n] for n in names)


def actor(db: Database, username: str, **channel: Any) -> Actor:
    """The account's actor, on the web unless ``channel`` says otherwise."""
    with db.sessions() as s:
        return load_actor(s, username=username, **{"how": "web", **channel})


def _patients(db: Database, w: World) -> dict[str, int]:
    """Patients of A (one also of B, one of B only), created through the services (which
    leave no trace in the trail: only the gate's accesses do)."""
    people = {
        "alice": ("Martin", "Alice", w.est_a),  # in dr.a's care: her chart is clinical too
        "bernard": ("Martin", "Bernard", w.est_a),
        "claire": ("Martinez", "Claire", w.est_a),
        "denise": ("Martinot", "Denise", w.est_b),
        "eve": ("Martin", "Eve", w.est_a),  # filed in A and B
        "petit": ("Petit", "Paul", w.est_a),
        "dupont": ("Dupont", "Jean", w.est_a),
        "leroy": ("Leroy", "Luc", w.est_a),
        "roux": ("Roux", "Rémi", w.est_a),
    }
    ids: dict[str, int] = {}
    with db.transaction() as s:
        for n, (key, (birth_name, first, est)) in enumerate(people.items()):
            ids[key] = patients.create_patient(
                s, establishment_id=est, birth_name=birth_name, birth_first_names=[first],
                sex="female" if n % 2 else "male", birth_date=date(1970 + n, 3, 1 + n),
                used_name="Durand" if key == "alice" else None,
            ).patient.id  # fmt: skip
        patients.register_in_establishment(s, patient_id=ids["eve"], establishment_id=w.est_b)
        clinical.record_allergy(
            s, patient_id=ids["alice"], establishment_id=w.est_a, substance="Pénicillines",
            reaction="urticaire", severity="severe", recorded_by_id=w.physician,
        )  # fmt: skip
        scheduling.book_appointment(
            s, patient_id=ids["alice"], practitioner_id=w.physician, establishment_id=w.est_a,
            start_at=datetime.now(UTC) + timedelta(days=2), duration_min=20, reason="Suivi",
        )  # fmt: skip
    return ids


def _accounts(db: Database, w: World) -> None:
    with db.transaction() as s:
        staff.grant_habilitation(s, user_id=w.physician_user, establishment_id=w.est_b,
                                 role="physician", valid_from=DAY0)  # fmt: skip
        for name, est in (("rssi.a", w.est_a), ("rssi.b", w.est_b)):
            user = staff.create_user(s, username=name, display_name=name.upper())
            staff.grant_habilitation(s, user_id=user.id, establishment_id=est,
                                     role="security_officer", valid_from=DAY0)  # fmt: skip
        admin = staff.create_user(s, username="it.admin", display_name="IT")
        staff.grant_habilitation(s, user_id=admin.id, establishment_id=w.est_a,
                                 role="it_admin", valid_from=DAY0)  # fmt: skip


def _book(db: Database, who: Actor, w: World, patient_id: int, days: int, minutes: int) -> None:
    writes.book_appointment(
        db, who, patient_id=patient_id, establishment_id=w.est_a, practitioner_id=w.physician,
        start_at=datetime.now(UTC) + timedelta(days=days), duration_min=minutes,
        reason="Contrôle",
    )  # fmt: skip


def build_scenario(db: Database) -> Scenario:
    """dr.a harvests in the period: two searches around two chart reads and a booking; it is
    refused one chart, one booking fails; sec.a reads other patients; dr.a's reads before
    and after the period fall outside it."""
    with db.transaction() as s:
        w = build_world(s)
    _accounts(db, w)
    ids = _patients(db, w)
    dr_web, dr_api = actor(db, "dr.a", **WEB), actor(db, "dr.a", **API)
    gateway.read_chart(db, dr_web, ids["claire"])  # before the period: a record
    since = datetime.now(UTC)

    gateway.search_patients(db, dr_web, name="Martin")
    alice = gateway.read_chart(db, dr_web, ids["alice"])
    bernard = gateway.read_chart(db, dr_api, ids["bernard"])
    with pytest.raises(gateway.AccessDenied):  # no care relationship: nothing returned
        gateway.read_chart(db, dr_web, ids["dupont"], require=frozenset({Category.NOTES}))
    # The gate's refusals carry no level; a refusal that names one (containment withholding
    # an answer it has measured) returned nothing all the same.
    with db.transaction() as s:
        for outcome in ("denied", "contained", "failed"):
            audit.record(
                s,
                gateway.audit_entry(dr_web, action="chart.read", outcome=outcome, level="record",
                                    patient_ids=[ids["dupont"]], categories=["notes"],
                                    reason="withheld"),
            )  # fmt: skip
    _book(db, dr_web, w, ids["petit"], days=3, minutes=20)  # a write: the patient at hand
    with pytest.raises(HygieError):  # refused by the service: recorded failed
        _book(db, dr_web, w, ids["roux"], days=4, minutes=0)
    secretary = actor(db, "sec.a")
    gateway.search_patients(db, secretary, name="Dupont")
    gateway.read_chart(db, secretary, ids["leroy"])
    gateway.search_patients(db, dr_web, name="Martin")  # summaries again, after the records

    until = datetime.now(UTC)
    gateway.read_chart(db, dr_web, ids["claire"])  # after the period
    identity = {"identity"}
    expected = {
        "alice": ("record", identity | set(alice.blocks)),
        "bernard": ("record", identity | set(bernard.blocks)),
        "claire": ("summary", identity),
        "denise": ("summary", identity),
        "eve": ("summary", identity),
        "petit": ("record", {"appointments"}),
    }
    return Scenario(world=w, ids=ids, since=since, until=until, expected=expected)


@pytest.fixture
def scenario(db: Database) -> Scenario:
    return build_scenario(db)


def _shown(report: impact.ImpactReport) -> dict[int, tuple[str, set[str]]]:
    return {p.patient_id: (p.level, set(p.categories)) for p in report.patients}


def _expected(sc: Scenario, *names: str) -> dict[int, tuple[str, set[str]]]:
    return {sc.ids[n]: sc.expected[n] for n in names or sc.expected}


def test_the_report_lists_exactly_what_the_account_received(
    db: Database, scenario: Scenario
) -> None:
    sc = scenario
    report = impact.exposure_report(
        db, impact.operator_actor(), username="dr.a", since=sc.since, until=sc.until
    )
    assert _shown(report) == _expected(sc)
    by_id = {p.patient_id: p for p in report.patients}
    # The chart in care shows clinical data; the one out of care does not.
    assert "allergies" in by_id[sc.ids["alice"]].categories
    assert "allergies" not in by_id[sc.ids["bernard"]].categories
    assert [p.patient_id for p in report.patients] == sorted(by_id)
    alice, bernard = by_id[sc.ids["alice"]], by_id[sc.ids["bernard"]]
    assert (alice.accesses, alice.channels) == (3, ("web",))  # search, chart, search
    assert (bernard.accesses, bernard.channels) == (3, ("api", "web"))
    assert by_id[sc.ids["petit"]].accesses == 1
    assert sc.since < alice.first_access < alice.last_access < sc.until
    # Who they are, to inform them: identity and files (IPP) in each establishment.
    assert (alice.birth_name, alice.used_name, alice.first_name) == ("Martin", "Durand", "Alice")
    assert alice.birth_date == date(1970, 3, 1)
    eve = by_id[sc.ids["eve"]]
    assert [f.establishment_id for f in eve.files] == [sc.world.est_a, sc.world.est_b]
    assert all(f.ipp for f in eve.files)


def test_the_summary_figures(db: Database, scenario: Scenario) -> None:
    sc = scenario
    s = impact.exposure_report(
        db, impact.operator_actor(), username="dr.a", since=sc.since, until=sc.until
    ).summary
    assert (s.account, s.patients, s.events) == ("dr.a", 6, 5)  # 2 searches, 2 charts, 1 booking
    assert s.patients_by_level == {"record": 3, "summary": 3}
    assert s.patients_by_category["identity"] == 5
    assert s.patients_by_category["appointments"] == 3  # both charts and the booking
    assert s.patients_by_category["allergies"] == 1
    assert s.events_by_channel == {"api": 1, "web": 4}
    assert (s.addresses, s.sessions, s.tokens) == (("10.0.0.7", "10.0.0.8"), (11,), (5,))
    assert s.since == sc.since and s.until == sc.until and s.establishments is None
    assert s.first_access is not None and s.last_access is not None
    assert sc.since < s.first_access < s.last_access < sc.until


def test_the_period_bounds_what_counts(db: Database, scenario: Scenario) -> None:
    sc = scenario
    operator = impact.operator_actor()
    # Without an end, up to now: the read after the period makes Claire's a record.
    report = impact.exposure_report(db, operator, username="dr.a", since=sc.since)
    assert _shown(report)[sc.ids["claire"]] == sc.expected["bernard"]  # out of care
    assert report.summary.events == 6
    # From the start of the day: the read before the period too.
    report = impact.exposure_report(
        db, operator, username="dr.a", since=sc.since - timedelta(days=1), until=sc.until
    )
    assert _shown(report)[sc.ids["claire"]][0] == "record"
    assert report.summary.events == 6


def test_pages_give_the_same_report_as_one_read(db: Database, scenario: Scenario) -> None:
    sc = scenario
    operator = impact.operator_actor()
    whole = impact.exposure_report(
        db, operator, username="dr.a", since=sc.since, until=sc.until, batch_size=10_000
    )
    stages: list[tuple[str, int]] = []
    paged = impact.exposure_report(
        db, operator, username="dr.a", since=sc.since, until=sc.until, batch_size=1,
        progress=lambda stage, n: stages.append((stage, n)),
    )  # fmt: skip
    assert paged.patients == whole.patients and paged.summary == whole.summary
    assert sum(n for stage, n in stages if stage == "events") == 5
    assert sum(n for stage, n in stages if stage == "patients") == 6


def test_pages_keep_events_recorded_at_the_same_instant(db: Database) -> None:
    """Pages are keyed by (time, id): events sharing a time are neither lost nor doubled."""
    with db.transaction() as s:
        w = build_world(s)
    at = datetime(2026, 11, 2, 8, 30, tzinfo=UTC)
    with db.transaction() as s:
        for n in range(7):
            audit.record(
                s,
                audit.Entry(action="patient.search", outcome="allowed", how="web",
                            user_id=w.physician_user, username="dr.a", level="summary",
                            patient_ids=[100 + n], categories=["identity"]),
                now=at,
            )  # fmt: skip
    report = impact.exposure_report(
        db, impact.operator_actor(), username="dr.a", since=at, until=at + timedelta(seconds=1),
        batch_size=2,
    )  # fmt: skip
    assert [p.patient_id for p in report.patients] == list(range(100, 107))
    assert report.summary.events == 7
    # Not in the patient tables any more: still listed, without an identity.
    assert report.patients[0].birth_name is None and report.patients[0].files == ()


def test_the_report_is_itself_in_the_trail(db: Database, scenario: Scenario) -> None:
    sc = scenario
    report = impact.exposure_report(
        db, impact.operator_actor(), username="DR.A ", since=sc.since, until=sc.until
    )
    with db.sessions() as s:
        event = s.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
        assert event is not None
        named = set(
            s.scalars(select(AuditPatient.patient_id).where(AuditPatient.event_id == event.id))
        )
    exposed = [p.patient_id for p in report.patients]
    assert (event.action, event.outcome, event.level, event.how) == (
        "incident.impact", "allowed", "summary", "cli",
    )  # fmt: skip
    assert event.patient_ids == exposed and named == set(exposed)
    assert event.user_id is None and event.details["operator"]  # the OS user, no account
    assert event.details["account"] == "dr.a" and event.details["patients"] == 6
    assert event.details["since"] == audit.iso_utc(sc.since)
    assert event.details["until"] == audit.iso_utc(sc.until)
    assert event.details["events"] == 5 and event.record_count == 6


def test_an_officer_sees_the_patients_of_their_establishments(
    db: Database, scenario: Scenario
) -> None:
    sc = scenario
    officer_a, officer_b = actor(db, "rssi.a"), actor(db, "rssi.b")
    a = impact.exposure_report(db, officer_a, username="dr.a", since=sc.since, until=sc.until)
    assert _shown(a) == _expected(sc, "alice", "bernard", "claire", "eve", "petit")
    b = impact.exposure_report(db, officer_b, username="dr.a", since=sc.since, until=sc.until)
    assert _shown(b) == _expected(sc, "denise", "eve")
    # Only the files of their establishments; only the accesses that concern them.
    eve_a = next(p for p in a.patients if p.patient_id == sc.ids["eve"])
    eve_b = next(p for p in b.patients if p.patient_id == sc.ids["eve"])
    assert [f.establishment_id for f in eve_a.files] == [sc.world.est_a]
    assert [f.establishment_id for f in eve_b.files] == [sc.world.est_b]
    assert (a.summary.events, b.summary.events) == (5, 2)
    assert b.summary.events_by_channel == {"web": 2} and b.summary.addresses == ("10.0.0.7",)
    assert b.summary.establishments == (sc.world.est_b,)
    with db.sessions() as s:
        event = s.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert event is not None and event.username == "rssi.b"
    assert event.patient_ids == sc.id_of("denise", "eve")


@pytest.mark.parametrize("username", ["sec.a", "dr.a", "it.admin"])
def test_others_are_refused_and_the_refusal_recorded(
    db: Database, scenario: Scenario, username: str
) -> None:
    with pytest.raises(gateway.AccessDenied):
        impact.exposure_report(
            db, actor(db, username), username="dr.a", since=scenario.since, until=scenario.until
        )
    with db.sessions() as s:
        event = s.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert event is not None
    assert (event.action, event.outcome, event.username) == ("incident.impact", "denied", username)
    assert event.patient_ids == []


def test_an_unknown_account_is_not_found_and_recorded(db: Database, scenario: Scenario) -> None:
    with pytest.raises(NotFoundError, match="no account named nobody"):
        impact.exposure_report(db, impact.operator_actor(), username="nobody", since=scenario.since)
    with db.sessions() as s:
        event = s.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert event is not None and (event.action, event.outcome) == ("incident.impact", "failed")


@pytest.mark.parametrize(
    ("since", "until", "field_name"),
    [
        (datetime(2026, 11, 2, 8, 30), None, "since"),  # noqa: DTZ001 - naive on purpose
        (datetime(2026, 11, 2, tzinfo=UTC), datetime(2026, 11, 3), "until"),  # noqa: DTZ001
        (datetime(2026, 11, 2, tzinfo=UTC), datetime(2026, 11, 2, tzinfo=UTC), "until"),
        (datetime(2026, 11, 3, tzinfo=UTC), datetime(2026, 11, 2, tzinfo=UTC), "until"),
    ],
)
def test_a_bad_period_is_refused(
    db: Database, since: datetime, until: datetime | None, field_name: str
) -> None:
    with pytest.raises(ValidationError) as raised:
        impact.exposure_report(
            db, impact.operator_actor(), username="dr.a", since=since, until=until
        )
    assert raised.value.field == field_name
