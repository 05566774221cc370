"""Acknowledgements: what is rejected (AR) or in error (AE), and exactly where the ERR
segment says the fault is; a refused message writes nothing and is in the trail."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from hygie.access.feed import FeedAccount, feed_account
from hygie.db import Database
from hygie.hl7.feed import handle
from hygie.hl7.mllp import split_frames
from hygie.hl7.parse import parse, read_header
from hygie.models import AuditEvent, Encounter, IdentityEvent, Patient
from hygie.patients import service as patients
from tests.factories import World, nir
from tests.hl7.conftest import FINESS_A, RPPS_A, adt, pid, pv1, when

HOUR = timedelta(hours=1)


@pytest.fixture
def account(db: Database, world: World) -> FeedAccount:
    return feed_account(db, username="feed.gam")


@pytest.fixture
def known(db: Database, world: World) -> int:
    with db.transaction() as s:
        return patients.create_patient(
            s, establishment_id=world.est_a, birth_name="Martin", birth_first_names=["Alice"],
            sex="female", birth_date=date(1980, 5, 3), nir=nir(sex=2),
            birth_place_code="75056", identity_status="qualified",
        ).patient.id  # fmt: skip


def _segments(ack: str) -> dict[str, list[str]]:
    return {line[:3]: line.split("|") for line in ack.split("\r")}


def _written(db: Database) -> tuple[int, ...]:
    with db.sessions() as s:
        return tuple(s.scalar(select(func.count()).select_from(m)) or 0
                     for m in (Patient, Encounter, IdentityEvent))  # fmt: skip


NEW = pid(names="LEBLANC^Paul^^^^^L", sex="M", birth="19700101")
REJECTED = [
    # (message, ERR-2, ERR-3 code)
    ("not an HL7 message at all", "MSH^1", "100"),
    (adt("O01", "R1", NEW, pv1(), kind="ORM"), "MSH^1^9^1^1", "200"),
    (adt("A02", "R2", NEW, pv1()), "MSH^1^9^1^2", "201"),
    (adt("A04", "R3", NEW, pv1(klass="O"), version="2.3"), "MSH^1^12", "203"),
    (adt("A04", "", NEW, pv1(klass="O")), "MSH^1^10", "101"),
    (adt("A04", "R5", pid(names="LEBLANC^Paul^^^^^L", birth="19701301"), pv1(klass="O")),
     "PID^1^7", "102"),
    (adt("A04", "R6", pid(names="LEBLANC^Paul^^^^^L", sex="X"), pv1(klass="O")), "PID^1^8",
     "103"),
    (adt("A04", "R7", pid(names=""), pv1(klass="O")), "PID^1^5^1^1", "101"),
    (adt("A04", "R8", pid(ins="180057505600100", names="LEBLANC^Paul^^^^^L"), pv1(klass="O")),
     "PID^1^3^1^1", "102"),
    (adt("A04", "R9", pid(names="LEBLANC^Paul^^^^^L").replace("PID|1||", "PID|1||1^^^X&1.2.3&ISO^INS"),
         pv1(klass="O")), "PID^1^3^1^4", "103"),
    (adt("A08", "R10", pid(names="LEBLANC^Paul^^^^^L"), "PV1|1|N"), "PID^1^3", "101"),
    (adt("A01", "R11", NEW, pv1(admit="")), "PV1^1^44", "101"),
    (adt("A01", "R12", NEW, pv1(admit="2026-11-23 10:00")), "PV1^1^44", "102"),
    (adt("A01", "R13", NEW, pv1(admit=when(-HOUR), doctor="")), "PV1^1^7^1^1", "101"),
    (adt("A01", "R14", NEW, pv1(admit=when(-HOUR), klass="Z")), "PV1^1^2", "103"),
    (adt("A03", "R15", pid(ipp="0000000001")), "PV1^1", "100"),
    (adt("A40", "R16", pid(ipp="0000000001")), "MRG^1", "100"),
    (adt("A40", "R17", pid(ipp="0000000001"), "MRG|"), "MRG^1^1^1^1", "101"),
    (adt("A04", "R18", pv1(klass="O"), NEW), "PV1^1", "100"),
    (adt("A04", "R19", NEW, pv1(klass="O"), NEW), "PID^2", "100"),
]  # fmt: skip


@pytest.mark.parametrize(("message", "where", "code"), REJECTED)
def test_rejected_messages_say_where(db: Database, account: FeedAccount, message: str,
                                     where: str, code: str) -> None:  # fmt: skip
    before = _written(db)
    outcome = handle(db, account, message)
    ack = _segments(outcome.ack)
    assert outcome.code == "AR" and ack["MSA"][1] == "AR", outcome.text
    assert ack["ERR"][2] == where and ack["ERR"][3].split("^")[0] == code, ack["ERR"]
    assert ack["ERR"][3].endswith("^HL70357") and ack["ERR"][4] == "E" and ack["ERR"][8]
    assert ack["MSA"][3].startswith("rejected:")
    assert _written(db) == before
    with db.sessions() as s:
        last = s.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert last is not None and (last.action, last.outcome, last.how) == (
        "hl7.message",
        "failed",
        "hl7",
    )
    assert last.username == "feed.gam" and last.reason


def test_application_errors(db: Database, world: World, account: FeedAccount, known: int) -> None:
    ipp = f"{known:010d}"
    cases = [
        # An unknown unit, an unknown doctor.
        (adt("A01", "E1", pid(ipp=ipp), pv1(admit=when(-HOUR), unit="XXX")), "PV1^1^3^1^1",
         "204"),
        (adt("A01", "E2", pid(ipp=ipp), pv1(admit=when(-HOUR), doctor="10000000998")),
         "PV1^1^7^1^1", "204"),
        # A discharge without a stay in progress.
        (adt("A03", "E3", pid(ipp=ipp), pv1(discharge=when(-HOUR))), "PV1^1^19", "207"),
        # The birth traits of a qualified identity come from the INS service.
        (adt("A08", "E4", pid(ipp=ipp, names="AUTRE^Alice^^^^^L"), "PV1|1|N"), "PID^1^5^1^1",
         "207"),
        # An admission in the future.
        (adt("A01", "E5", pid(ipp=ipp), pv1(admit=when(2 * HOUR))), "PV1^1^44", "207"),
        # The INS of a known identity, with another birth name.
        (adt("A04", "E6", pid(ins=nir(sex=2), names="DURAND^Zoé^^^^^L", birth="19800503"),
             pv1(klass="O")), "PID^1^3^1^1", "207"),
        # An outpatient is not admitted.
        (adt("A01", "E7", pid(ipp=ipp), pv1(klass="O", admit=when(-HOUR))), "PV1^1^2", "207"),
        # The INS of an identity of another establishment of the group, for a new one.
        (adt("A04", "E8", pid(ins=nir(sex=1, yy=70, mm=1), names="LEBLANC^Paul^^^^^L",
                              sex="M", birth="19700101"), pv1(klass="O")),
         "PID^1^3^1^1", "205"),
        # A new patient whose admission is refused: the patient is not created either.
        (adt("A01", "E9", pid(names="NOUVEAU^Jean^^^^^L", sex="M", birth="19900101"),
             pv1(admit=when(2 * HOUR))), "PV1^1^44", "207"),
    ]  # fmt: skip
    with db.transaction() as s:
        patients.create_patient(
            s, establishment_id=world.est_b, birth_name="Leblanc", birth_first_names=["Paul"],
            sex="male", birth_date=date(1970, 1, 1), nir=nir(sex=1, yy=70, mm=1),
        )  # fmt: skip
    for message, where, code in cases:
        before = _written(db)
        outcome = handle(db, account, message)
        ack = _segments(outcome.ack)
        assert outcome.code == "AE", (message, outcome.text)
        assert ack["ERR"][2] == where and ack["ERR"][3].split("^")[0] == code, (
            outcome.control_id,
            ack["ERR"],
        )
        assert _written(db) == before, outcome.control_id
    with db.sessions() as s:
        outcomes = list(s.execute(
            select(AuditEvent.details, AuditEvent.outcome).where(AuditEvent.how == "hl7")
            .order_by(AuditEvent.id)))  # fmt: skip
    assert [(d["control_id"], o) for d, o in outcomes] == [
        (f"E{n}", "failed") for n in range(1, 10)
    ]


def test_the_doctor_may_be_named_by_the_national_identifier(
    db: Database, world: World, account: FeedAccount, known: int
) -> None:
    """PV1-7 as IHE PAM France writes it: "8" + the RPPS number."""
    message = adt("A01", "PS-1", pid(ipp=f"{known:010d}"),
                  pv1(admit=when(-HOUR), doctor="8" + RPPS_A))  # fmt: skip
    assert handle(db, account, message).code == "AA"
    with db.sessions() as s:
        assert s.scalars(select(Encounter.responsible_id)).one() == world.physician


def test_the_same_ins_is_the_same_patient(db: Database, world: World, account: FeedAccount,
                                          known: int) -> None:  # fmt: skip
    """An admission that brings only the INS of a known patient admits that patient."""
    message = adt("A01", "INS-1", pid(ins=nir(sex=2), names="MARTIN^Alice^^^^^L"),
                  pv1(admit=when(-HOUR)))  # fmt: skip
    outcome = handle(db, account, message)
    assert outcome.code == "AA", outcome.text
    with db.sessions() as s:
        stay = s.scalars(select(Encounter)).one()
    assert stay.patient_id == known


def test_an_interface_holds_no_other_permission(db: Database, world: World) -> None:
    """A feed account may not be turned into a person's: the role is refused to humans and
    other roles are refused to system accounts."""
    from hygie.errors import ValidationError
    from hygie.models import AccountKind
    from hygie.staff import service as staff
    from tests.factories import DAY0

    with db.transaction() as s:
        feed = staff.create_user(s, username="feed.x", display_name="X", kind=AccountKind.SYSTEM)
        with pytest.raises(ValidationError):
            staff.grant_habilitation(s, user_id=feed.id, establishment_id=world.est_a,
                                     role="secretary", valid_from=DAY0)  # fmt: skip
        human = staff.create_user(s, username="human.x", display_name="H")
        with pytest.raises(ValidationError):
            staff.grant_habilitation(s, user_id=human.id, establishment_id=world.est_a,
                                     role="interface", valid_from=DAY0)  # fmt: skip


def test_header_and_frames_are_read_without_trusting_the_rest() -> None:
    raw = "MSH|^~\\&|GAM|CLIN|HYGIE|" + FINESS_A + "|2026||ADT^A08|C-1|P|2.5\nPID|broken"
    header = read_header(raw)
    assert (header.control_id, header.trigger, header.sender) == ("C-1", "A08", "GAM@CLIN")
    frames, rest = split_frames(b"noise\x0bMSH|1\x1c\x0d\x0bMSH|2\x1c\x0d\x0bMSH|3")
    assert frames == [b"MSH|1", b"MSH|2"] and rest == b"\x0bMSH|3"


def test_escaped_names_and_paris_time() -> None:
    message = adt("A01", "ESC-1", pid(names="O\\S\\BRIEN^Seán^^^^^L"),
                  pv1(admit="202611231000"))  # fmt: skip
    parsed = parse(message).message
    assert parsed.patient.birth_name == "O^BRIEN"
    assert parsed.visit is not None and parsed.visit.admit_at is not None
    assert parsed.visit.admit_at.utcoffset() == timedelta(hours=1)  # Paris, in November


def test_a_known_ins_with_a_new_ipp_opens_a_file_under_that_number(
    db: Database, world: World, known: int
) -> None:
    from hygie.models import PatientRegistration
    from tests.hl7.conftest import FINESS_B

    both = feed_account(db, username="feed.both", establishment=FINESS_B)
    message = adt("A04", "B-1", pid(ins=nir(sex=2), ipp="B-55", names="MARTIN^Alice^^^^^L"),
                  pv1(klass="O", unit=""), facility=FINESS_B)  # fmt: skip
    outcome = handle(db, both, message)
    assert outcome.code == "AA", outcome.text
    with db.sessions() as s:
        files = dict(s.execute(select(PatientRegistration.establishment_id, PatientRegistration.ipp)
                               .where(PatientRegistration.patient_id == known)).all())  # fmt: skip
    assert files == {world.est_a: f"{known:010d}", world.est_b: "B-55"}
    # The same patient, now sent under another number for that file: refused.
    again = handle(db, both, message.replace("B-55", "B-56").replace("B-1", "B-2"))
    assert again.code == "AE" and "B-55" in again.text


def test_a_disabled_account_stops_the_feed_at_once(
    db: Database, world: World, account: FeedAccount, known: int
) -> None:
    """The account is checked at every message, not only when the feed starts."""
    from datetime import UTC, datetime

    from hygie.auth.service import disable_account

    update = adt("A08", "OFF-1", pid(ipp=f"{known:010d}", names="MARTIN^Alice^^^^^L~BLEU^^^^^^D"),
                 "PV1|1|N")  # fmt: skip
    with db.transaction() as s:
        disable_account(s, username="feed.gam", now=datetime.now(UTC), how="cli")
    outcome = handle(db, account, update)
    assert outcome.code == "AE" and "account" in outcome.text
    with db.sessions() as s:
        assert s.get(Patient, known).used_name is None  # type: ignore[union-attr]
        last = s.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert last is not None and (last.action, last.outcome, last.details["control_id"]) == (
        "hl7.adt.a08",
        "denied",
        "OFF-1",
    )


def test_an_update_does_not_add_an_ins(db: Database, world: World, account: FeedAccount) -> None:
    with db.transaction() as s:
        bare = patients.create_patient(
            s, establishment_id=world.est_a, birth_name="Petit", birth_first_names=["Léa"],
            sex="female", birth_date=date(1990, 2, 3),
        ).patient.id  # fmt: skip
    update = adt("A08", "INS-A08", pid(ipp=f"{bare:010d}", ins=nir(sex=2, yy=90, mm=2),
                                       names="PETIT^Léa^^^^^L~GRAND^^^^^^D", birth="19900203"),
                 "PV1|1|N")  # fmt: skip
    outcome = handle(db, account, update)
    assert outcome.code == "AA" and "INS not recorded" in outcome.text
    with db.sessions() as s:
        p = s.get(Patient, bare)
        assert p is not None and p.nir is None and p.used_name == "GRAND"
