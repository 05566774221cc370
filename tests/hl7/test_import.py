"""``hygie hl7 import``: each ADT event end to end from a file, on SQLite and PostgreSQL —
what it writes, the acknowledgement it answers, and the event it leaves in the trail."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from hygie.access.actor import load_actor
from hygie.access.gateway import read_chart
from hygie.access.history import access_history
from hygie.clinical import service as clinical
from hygie.db import Database
from hygie.models import (
    Allergy,
    AuditEvent,
    Encounter,
    IdentityEvent,
    Patient,
    PatientMerge,
    PatientRegistration,
)
from hygie.patients import service as patients
from hygie.scheduling import service as scheduling
from tests.factories import World, nir
from tests.hl7.conftest import FINESS_B, Cli, adt, pid, pv1, when

HOUR = timedelta(hours=1)


def _file(tmp_path: Path, *messages: str, name: str = "feed.hl7") -> str:
    path = tmp_path / name
    path.write_text("\n".join(m.replace("\r", "\n") for m in messages) + "\n", encoding="utf-8")
    return str(path)


def _hl7_events(db: Database) -> list[AuditEvent]:
    with db.sessions() as s:
        return list(s.scalars(select(AuditEvent).where(AuditEvent.how == "hl7")
                              .order_by(AuditEvent.id)))  # fmt: skip


def _patient(db: Database, pid_: int) -> Patient:
    with db.sessions() as s:
        p = s.get(Patient, pid_)
        assert p is not None
        s.expunge(p)
        return p


def _counts(db: Database) -> dict[str, int]:
    with db.sessions() as s:
        return {model.__name__: s.scalar(select(func.count()).select_from(model)) or 0
                for model in (Patient, PatientRegistration, Encounter, IdentityEvent,
                              PatientMerge)}  # fmt: skip


def _new_patient(db: Database, world: World, name: str = "Martin", **kw: Any) -> int:
    with db.transaction() as s:
        return patients.create_patient(
            s, establishment_id=world.est_a, birth_name=name, birth_first_names=["Alice"],
            sex="female", birth_date=date(1980, 5, 3), **kw,
        ).patient.id  # fmt: skip


def test_register_admit_discharge_a_new_patient(db: Database, world: World, cli: Cli,
                                                tmp_path: Path) -> None:  # fmt: skip
    ins = nir(sex=2, yy=80, mm=5)
    register = adt(
        "A04", "MSG-A04",
        pid(ins=ins, names="MARTIN^Alice^Alice Marie^^^^L~DUPONT^Lili^^^^^D",
            address="12 rue de la Paix^Bât. B^Paris^^75002^FRA^H~^^^^^^BDL^^75056",
            phones="0601020304^PRN^CP~^NET^Internet^alice@example.org~0145454545^PRN^PH"),
        pv1(klass="O", unit=""),
    )  # fmt: skip
    first = cli("hl7", "import", _file(tmp_path, register, name="a04.hl7"))
    assert first.code == 0, first.stderr
    [ack] = first.acks()
    assert ack["MSA"][1:3] == ["AA", "MSG-A04"] and "ERR" not in ack
    assert ack["MSH"][8] == "ACK^A04^ACK"
    with db.sessions() as s:
        p = s.scalars(select(Patient).where(Patient.birth_name == "MARTIN")).one()
        ipp = s.scalars(select(PatientRegistration.ipp)
                        .where(PatientRegistration.patient_id == p.id)).one()  # fmt: skip
        assert (p.birth_first_names, p.used_name, p.used_first_name) == (
            "Alice Marie",
            "DUPONT",
            "Lili",
        )
        assert (p.sex.value, p.birth_date, p.birth_place_code) == ("female", date(1980, 5, 3),
                                                                   "75056")  # fmt: skip
        assert p.nir == ins and p.identity_status.value == "provisional"
        assert (p.address_line, p.postal_code, p.city) == ("12 rue de la Paix, Bât. B",
                                                           "75002", "Paris")  # fmt: skip
        assert p.phone_mobile and p.phone_home and p.email == "alice@example.org"
    assert ipp in ack["MSA"][3]

    admit = adt("A01", "MSG-A01", pid(ipp=ipp), pv1(admit=when(-2 * HOUR), bed="12"))
    discharge = adt("A03", "MSG-A03", pid(ipp=ipp), pv1(discharge=when(-HOUR)))
    second = cli("hl7", "import", _file(tmp_path, admit, discharge, name="stay.hl7"))
    assert second.code == 0, second.stderr
    assert [a["MSA"][1:3] for a in second.acks()] == [["AA", "MSG-A01"], ["AA", "MSG-A03"]]
    with db.sessions() as s:
        stay = s.scalars(select(Encounter).where(Encounter.patient_id == p.id)).one()
        assert stay.department_id == world.dept_a and stay.responsible_id == world.physician
        assert stay.status.value == "finished" and stay.end_at is not None
        assert stay.end_at - stay.start_at == HOUR

    events = _hl7_events(db)
    assert [(e.action, e.outcome) for e in events] == [
        ("hl7.adt.a04", "allowed"), ("hl7.adt.a01", "allowed"), ("hl7.adt.a03", "allowed"),
    ]  # fmt: skip
    assert [e.details["control_id"] for e in events] == ["MSG-A04", "MSG-A01", "MSG-A03"]
    assert {e.username for e in events} == {"feed.gam"}
    assert {e.role for e in events} == {"interface"}
    assert all(e.patient_ids == [p.id] for e in events)
    assert events[1].details["visit_number"] == "V0001"


def test_admit_creates_the_patient_when_the_message_brings_a_new_one(
    db: Database, world: World, cli: Cli, tmp_path: Path
) -> None:
    before = _counts(db)
    done = cli("hl7", "import", _file(tmp_path, adt(
        "A01", "NEW-1", pid(names="LEBLANC^Paul^^^^^L", sex="M", birth="19700101"),
        pv1(admit=when(-HOUR)),
    )))  # fmt: skip
    assert done.code == 0, done.stderr
    after = _counts(db)
    assert after["Patient"] == before["Patient"] + 1
    assert after["Encounter"] == before["Encounter"] + 1


def test_update_changes_identity_and_contact_and_keeps_the_history(
    db: Database, world: World, cli: Cli, tmp_path: Path
) -> None:
    pid_ = _new_patient(db, world)
    ipp = f"{pid_:010d}"
    update = adt(
        "A08", "MSG-A08",
        pid(ipp=ipp, names="MARTIN-DURAND^Alice^^^^^L~DUPONT^Lili^^^^^D", birth="19800504",
            address="3 place du Marché^^Lyon^^69001^FRA^H"),
        "PV1|1|N",
    )  # fmt: skip
    done = cli("hl7", "import", _file(tmp_path, update))
    assert done.code == 0, done.stderr
    assert done.acks()[0]["MSA"][1] == "AA"
    p = _patient(db, pid_)
    assert (p.birth_name, p.birth_date, p.used_name) == ("MARTIN-DURAND", date(1980, 5, 4),
                                                         "DUPONT")  # fmt: skip
    assert (p.city, p.postal_code) == ("Lyon", "69001")
    with db.sessions() as s:
        kinds = [e.kind for e in s.scalars(select(IdentityEvent)
                 .where(IdentityEvent.patient_id == pid_).order_by(IdentityEvent.id))]  # fmt: skip
        changed = s.scalars(select(IdentityEvent).where(
            IdentityEvent.kind == "identity_changed")).one()  # fmt: skip
    assert kinds == ["created", "identity_changed", "contact_changed"]
    assert changed.details["previous"]["birth_name"] == "Martin"
    [event] = _hl7_events(db)
    assert (event.action, event.outcome, event.details["control_id"]) == (
        "hl7.adt.a08",
        "allowed",
        "MSG-A08",
    )
    assert "birth_name" in event.details["fields"]


def test_merge_moves_the_data_and_keeps_the_history(
    db: Database, world: World, cli: Cli, tmp_path: Path
) -> None:
    survivor = _new_patient(db, world, name="Martin")
    merged = _new_patient(db, world, name="Martinn")
    with db.transaction() as s:
        allergy = clinical.record_allergy(
            s, patient_id=merged, establishment_id=world.est_a, substance="Latex",
            reaction="eczéma", severity="moderate", recorded_by_id=world.physician,
        ).id  # fmt: skip
        appointment = scheduling.book_appointment(
            s, patient_id=merged, practitioner_id=world.physician, establishment_id=world.est_a,
            start_at=datetime.now(UTC) + timedelta(days=3), duration_min=20, reason="Suivi",
        ).id  # fmt: skip
    # Someone opened the duplicate's chart before the merge: that access must stay readable.
    with db.sessions() as s:
        doctor = load_actor(s, username="dr.a", how="api")
        officer = load_actor(s, username="so.a", how="api")
    read_chart(db, doctor, merged)

    message = adt("A40", "MSG-A40", pid(ipp=f"{survivor:010d}"),
                  f"MRG|{merged:010d}^^^CLINIQUEA^PI")  # fmt: skip
    done = cli("hl7", "import", _file(tmp_path, message))
    assert done.code == 0, done.stderr
    assert done.acks()[0]["MSA"][1:3] == ["AA", "MSG-A40"]

    with db.sessions() as s:
        assert s.get(Allergy, allergy).patient_id == survivor  # type: ignore[union-attr]
        from hygie.models import Appointment

        assert s.get(Appointment, appointment).patient_id == survivor  # type: ignore[union-attr]
        gone = s.get(Patient, merged)
        assert gone is not None and gone.state.value == "merged"
        assert gone.merged_into_id == survivor
        record = s.scalars(select(PatientMerge)).one()
        assert (record.survivor_id, record.merged_id) == (survivor, merged)
        assert "MSG-A40" in record.reason
        assert allergy in record.moved["allergies"]
    [event] = _hl7_events(db)
    assert event.action == "hl7.adt.a40" and sorted(event.patient_ids) == sorted([survivor, merged])
    # The duplicate's access history is still there for the security officer.
    history = access_history(db, officer, merged)
    assert any(line.action == "chart.read" and line.who == "dr.a" for line in history), history
    assert any(line.action == "hl7.adt.a40" and line.how == "hl7" for line in history)


def test_a_truncated_message_is_rejected_and_changes_nothing(
    db: Database, world: World, cli: Cli, tmp_path: Path
) -> None:
    pid_ = _new_patient(db, world)
    whole = adt("A01", "CUT-1", pid(ipp=f"{pid_:010d}"), pv1(admit=when(-HOUR)))
    cut = whole[: whole.index("PID|") + 25]  # the connection dropped inside PID
    before = _counts(db)
    trail_before = len(_hl7_events(db))
    done = cli("hl7", "import", _file(tmp_path, cut))
    assert done.code == 1
    [ack] = done.acks()
    assert ack["MSA"][1:3] == ["AR", "CUT-1"]
    assert ack["ERR"][2] == "PV1^1" and ack["ERR"][3].startswith("100^")
    assert ack["ERR"][4] == "E" and "PV1" in ack["ERR"][8]
    assert _counts(db) == before
    events = _hl7_events(db)
    assert len(events) == trail_before + 1
    assert (events[-1].action, events[-1].outcome, events[-1].details["control_id"]) == (
        "hl7.message",
        "failed",
        "CUT-1",
    )
    assert "PV1" in (events[-1].reason or "")


def test_an_establishment_the_account_lacks_is_refused_and_audited_as_denied(
    db: Database, world: World, cli: Cli, tmp_path: Path
) -> None:
    before = _counts(db)
    message = adt("A04", "OTHER-1", pid(names="LEBLANC^Paul^^^^^L", sex="M"),
                  pv1(klass="O", unit=""), facility=FINESS_B)  # fmt: skip
    done = cli("hl7", "import", _file(tmp_path, message))
    assert done.code == 1
    [ack] = done.acks()
    assert ack["MSA"][1] == "AE" and ack["ERR"][2] == "MSH^1^6"
    assert FINESS_B in ack["ERR"][8]
    assert _counts(db) == before
    [event] = _hl7_events(db)
    assert (event.action, event.outcome, event.details["control_id"]) == (
        "hl7.adt.a04",
        "denied",
        "OTHER-1",
    )
    assert FINESS_B in (event.reason or "")


def test_one_refused_message_does_not_stop_the_others(
    db: Database, world: World, cli: Cli, tmp_path: Path
) -> None:
    pid_ = _new_patient(db, world)
    good = adt("A08", "OK-1", pid(ipp=f"{pid_:010d}", names="MARTIN^Alice^^^^^L~BLEU^^^^^^D"),
               "PV1|1|N")  # fmt: skip
    unknown = adt("A08", "KO-1", pid(ipp="0000009999"), "PV1|1|N")
    done = cli("hl7", "import", _file(tmp_path, unknown, good))
    assert done.code == 1
    acks = done.acks()
    assert [a["MSA"][1:3] for a in acks] == [["AE", "KO-1"], ["AA", "OK-1"]]
    assert acks[0]["ERR"][2] == "PID^1^3^1^1" and acks[0]["ERR"][3].startswith("204^")
    assert _patient(db, pid_).used_name == "BLEU"
    assert "1 in error" in done.stderr and "1 accepted" in done.stderr


def test_the_admission_systems_ipp_numbers_the_file(
    db: Database, world: World, cli: Cli, tmp_path: Path
) -> None:
    """A new patient sent with the IPP the establishment's admission system gave keeps it:
    later messages find the patient by it."""
    messages = [
        adt("A04", "GAM-1", pid(ipp="GAM-778", names="LEBLANC^Paul^^^^^L", sex="M",
                                birth="19700101"), pv1(klass="O", unit="")),
        adt("A08", "GAM-2", pid(ipp="GAM-778", names="LEBLANC^Paul^^^^^L~ROUX^^^^^^D"),
            "PV1|1|N"),
        # The number of another patient, with another identity: refused.
        adt("A04", "GAM-3", pid(ipp="GAM-778", names="DURAND^Zoé^^^^^L", sex="F"),
            pv1(klass="O", unit="")),
    ]  # fmt: skip
    done = cli("hl7", "import", _file(tmp_path, *messages))
    acks = done.acks()
    assert [a["MSA"][1] for a in acks] == ["AA", "AA", "AE"], done.stderr
    assert acks[2]["ERR"][2] == "PID^1^5^1^1" and "identity vigilance" in acks[2]["ERR"][8]
    with db.sessions() as s:
        paul = s.scalars(select(Patient).where(Patient.birth_name == "LEBLANC")).one()
        assert paul.used_name == "ROUX"
        assert s.scalars(select(PatientRegistration.ipp)
                         .where(PatientRegistration.patient_id == paul.id)).one() == "GAM-778"  # fmt: skip
        assert s.scalar(select(func.count()).select_from(Patient)
                        .where(Patient.birth_name == "DURAND")) == 0  # fmt: skip
