"""Patient identities: creation, duplicates, encrypted NIR, coverage, death and merges."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from operator import attrgetter as at
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from hygie.billing import service as billing
from hygie.clinical import service as clinical
from hygie.db import Database
from hygie.errors import ConflictError, HygieError, NotFoundError, ValidationError
from hygie.kit.crypto import Keyring
from hygie.kit.time import local_date
from hygie.models import (
    AmoCoverage,
    IdentityEvent,
    IdentityStatus,
    Patient,
    PatientState,
    Sex,
)
from hygie.patients import service as patients
from hygie.scheduling import service as scheduling
from hygie.stays import service as stays
from hygie.storage import patients as store
from tests.factories import World, build_world, nir
from tests.refusals import assert_refused, call

NOW = datetime.now(UTC).replace(microsecond=0)
BORN = date(1980, 5, 3)  # matches nir(): a man born in May 1980
OTHER_NIR = nir(sex=2, yy=75, mm=3, dep="69", order=7)


def spaced(value: str) -> str:
    """A NIR as printed on a carte Vitale."""
    return " ".join(
        [value[0], value[1:3], value[3:5], value[5:7], value[7:10], value[10:13], value[13:]]
    )


def create(s: Session, w: World, **overrides: Any) -> patients.PatientCreated:
    fields: dict[str, Any] = dict(
        establishment_id=w.est_a, birth_name="Dupont", birth_first_names=["Jean", "Marie"],
        sex="male", birth_date=BORN, birth_place_code="75056",
    )  # fmt: skip
    return patients.create_patient(s, **{**fields, **overrides})


def events(s: Session, patient_id: int) -> list[IdentityEvent]:
    query = select(IdentityEvent).where(IdentityEvent.patient_id == patient_id)
    return list(s.scalars(query.order_by(IdentityEvent.id)))


@pytest.fixture
def world(db: Database) -> World:
    with db.transaction() as s:
        return build_world(s)


def test_create_patient_cleans_traits_and_opens_a_file(db: Database, world: World) -> None:
    contact = patients.Contact(
        address_line=" 5 rue Haute ", postal_code="75011", city=" Paris ",
        phone_mobile="06 12 34 56 78", phone_home=" ", email=" J.Dupont@Example.fr ",
    )  # fmt: skip
    with db.transaction() as s:
        created = create(
            s, world, birth_name="  dupont   de la  Tour ", birth_first_names=["Jérôme", " ", "Luc"],
            used_name="Martin", used_first_name="Jeff", nir=spaced(nir()),
            identity_status="qualified", birth_place_code="75056", contact=contact,
            attending_physician_id=world.gp, recorded_by_id=world.physician_user,
        )  # fmt: skip
    with db.transaction() as s:
        p = s.get(Patient, created.patient.id)
        assert p is not None
        assert (p.birth_name, p.birth_first_names, p.first_name, p.used_first_name, p.used_name) == (
            "dupont de la Tour", "Jérôme Luc", "Jérôme", "Jeff", "Martin",
        )  # fmt: skip
        assert (p.birth_name_key, p.first_name_key, p.used_name_key) == (
            "DUPONT DE LA TOUR", "JEROME", "MARTIN",
        )  # fmt: skip
        assert (p.sex, p.identity_status, p.state, p.nir) == (
            Sex.MALE, IdentityStatus.QUALIFIED, PatientState.ACTIVE, nir(),
        )  # fmt: skip
        assert (p.phone_mobile, p.phone_home, p.email, p.city) == (
            "0612345678", None, "j.dupont@example.fr", "Paris",
        )  # fmt: skip
        assert p.attending_physician_id == world.gp and p.possible_duplicate_of_id is None
        assert created.ipp == f"{p.id:010d}" and created.possible_duplicates == []
        regs = store.registrations(s, p.id)
        assert [(r.establishment_id, r.ipp) for r in regs] == [(world.est_a, created.ipp)]
        [event] = events(s, p.id)
        assert (event.kind, event.recorded_by_id) == ("created", world.physician_user)
        assert event.details["identity_status"] == "qualified"


def test_nir_is_encrypted_at_rest_and_found_by_its_keyed_hash(
    db: Database, world: World, keyring: Keyring
) -> None:
    with db.transaction() as s:
        patient_id = create(s, world, nir=nir()).patient.id
        amo = patients.record_amo_coverage(
            s, patient_id=patient_id, regime_code="01", fund_code="751", fund_name="CPAM Paris",
            insured_nir=nir(), beneficiary="insured", valid_from=date(2024, 1, 1),
        )  # fmt: skip
    with db.engine.connect() as conn:
        [raw] = conn.execute(text("select nir from patients")).scalars().all()
        [raw_insured] = conn.execute(text("select insured_nir from amo_coverages")).scalars()
    for stored in (raw, raw_insured):
        assert nir() not in stored and stored.startswith(f"{keyring.active_id}:")
    with db.transaction() as s:
        found = s.scalars(
            select(Patient).where(Patient.nir_hash == patients.nir_lookup_hash(nir()))
        )
        assert [p.id for p in found] == [patient_id]
        assert store.by_nir_hash(s, patients.nir_lookup_hash(OTHER_NIR)) is None
        assert s.get(AmoCoverage, amo.id).insured_nir == nir()  # type: ignore[union-attr]


def test_same_birth_traits_are_flagged_as_a_possible_duplicate(db: Database, world: World) -> None:
    with db.transaction() as s:
        first = create(s, world, birth_name="Dupont", birth_first_names=["Jérôme"]).patient
        second = create(
            s, world, establishment_id=world.est_b, birth_name="DUPONT",
            birth_first_names=["jerome", "Paul"],
        )  # fmt: skip
        third = create(s, world, birth_name="Dupont", birth_first_names=["Jérôme"])
        other_day = create(s, world, birth_first_names=["Jérôme"], birth_date=date(1980, 5, 4))
    assert second.possible_duplicates == [first.id]
    assert third.possible_duplicates == [first.id, second.patient.id]
    assert other_day.possible_duplicates == []
    with db.transaction() as s:
        stored = s.get(Patient, second.patient.id)
        assert stored is not None and stored.possible_duplicate_of_id == first.id
        assert events(s, second.patient.id)[0].details["possible_duplicates"] == [first.id]


def test_duplicate_detection_uses_birth_first_names_not_used_ones(
    db: Database, world: World
) -> None:
    with db.transaction() as s:
        first = create(s, world, birth_first_names=["Jean"], used_first_name="Johnny").patient
        second = create(s, world, birth_first_names=["Jean"])
    assert second.possible_duplicates == [first.id]


def test_status_changes_and_registrations(db: Database, world: World) -> None:
    with db.transaction() as s:
        patient_id = create(s, world, nir=nir()).patient.id
        patients.set_identity_status(s, patient_id=patient_id, status="qualified")
        patients.set_identity_status(s, patient_id=patient_id, status="qualified")  # no-op
        ipp_b = patients.register_in_establishment(
            s, patient_id=patient_id, establishment_id=world.est_b
        )
        again = patients.register_in_establishment(
            s, patient_id=patient_id, establishment_id=world.est_b
        )
    assert ipp_b == again == f"{patient_id:010d}"
    with db.transaction() as s:
        kinds = [(e.kind, e.details) for e in events(s, patient_id)]
        assert kinds[1:] == [
            ("status_changed", {"from": "provisional", "to": "qualified"}),
            ("registered", {"establishment_id": world.est_b}),
        ]
        assert {r.establishment_id for r in store.registrations(s, patient_id)} == {
            world.est_a, world.est_b,
        }  # fmt: skip


@pytest.mark.parametrize(("status", "sex"), [("provisional", "male"), ("validated", "unknown")])
def test_provisional_and_validated_need_no_nir(
    db: Database, world: World, status: str, sex: str
) -> None:
    with db.transaction() as s:
        created = create(s, world, identity_status=status, sex=sex)
    assert created.patient.nir is None and created.patient.nir_hash is None


@pytest.mark.parametrize("month", [5, 20, 42, 99])
def test_a_nir_with_a_matching_or_unknown_month_is_accepted(
    db: Database, world: World, month: int
) -> None:
    with db.transaction() as s:
        assert create(s, world, nir=nir(mm=month)).patient.nir == nir(mm=month)


def test_merge_moves_every_record_to_the_survivor(db: Database, world: World) -> None:
    w = world
    with db.transaction() as s:
        survivor = create(s, w, nir=nir(), identity_status="qualified").patient.id
        merged = create(s, w, establishment_id=w.est_b, attending_physician_id=w.gp).patient.id
        common = dict(patient_id=merged, establishment_id=w.est_b)
        rows: dict[str, list[int]] = {
            "appointments": [scheduling.book_appointment(
                s, **common, practitioner_id=w.physician_b, start_at=NOW + timedelta(days=2),
                duration_min=15, reason="Suivi").id],
            "encounters": [stays.record_visit(
                s, **common, department_id=w.dept_b, responsible_id=w.physician_b,
                at=NOW - timedelta(days=1), duration_min=20, reason="Consultation").id],
            "allergies": [clinical.record_allergy(
                s, **common, substance="Latex", reaction="Urticaire", severity="mild",
                recorded_by_id=w.physician_b).id],
            "conditions": [clinical.add_condition(
                s, **common, code="I10", recorded_by_id=w.physician_b).id],
            "clinical_notes": [clinical.write_note(
                s, **common, author_id=w.physician_b, kind="consultation", text="RAS").id],
            "prescriptions": [clinical.prescribe(
                s, **common, prescriber_id=w.physician_b, drug_code="D0001", dose="1 g",
                frequency="3 fois par jour", duration_days=5).id],
            "care_team_members": [clinical.add_care_team_member(
                s, **common, professional_id=w.nurse, role="nurse", start_date=NOW.date()).id],
            "amo_coverages": [patients.record_amo_coverage(
                s, patient_id=merged, regime_code="01", fund_code="921", fund_name="CPAM",
                insured_nir=nir(), beneficiary="insured", valid_from=date(2024, 1, 1)).id],
            "amc_coverages": [patients.record_amc_coverage(
                s, patient_id=merged, organism_number="12345678", organism_name="Mutuelle",
                member_number="M1", valid_from=date(2024, 1, 1)).id],
            "billable_acts": [billing.record_act(
                s, **common, code="G", performed_on=NOW.date(), practitioner_id=w.physician_b).id],
        }  # fmt: skip
        rows["invoices"] = [billing.issue_invoice(s, **common).id]
        died = patients.declare_death(
            s, patient_id=merged, died_at=NOW - timedelta(hours=1), place="Domicile",
            declared_by_id=w.physician_b,
        )  # fmt: skip
    with db.transaction() as s:
        record = patients.merge_identities(
            s, survivor_id=survivor, merged_id=merged, reason=" Doublon ",
            recorded_by_id=w.physician_user,
        )  # fmt: skip
    with db.transaction() as s:
        extra = {"patient_registrations": [w.est_b], "death_declarations": [died.id]}
        assert record.moved == {**rows, **extra}
        for table, ids in rows.items():
            owners = s.execute(text(f"select patient_id from {table}")).scalars().all()
            assert owners == [survivor] * len(ids), table
        assert store.death_of(s, survivor) is not None
        assert {r.establishment_id for r in store.registrations(s, survivor)} == {w.est_a, w.est_b}
        gone, kept = s.get(Patient, merged), s.get(Patient, survivor)
        assert gone is not None and kept is not None
        assert (gone.state, gone.merged_into_id) == (PatientState.MERGED, survivor)
        assert kept.state == PatientState.ACTIVE
        assert (kept.attending_physician_id, kept.nir) == (w.gp, nir())
        assert (record.reason, record.recorded_by_id) == ("Doublon", w.physician_user)
        last = events(s, survivor)[-1], events(s, merged)[-1]
        assert [(e.kind, e.details) for e in last] == [
            ("merged_from", {"merged_id": merged, "merge_id": record.id}),
            ("merged_into", {"survivor_id": survivor, "merge_id": record.id}),
        ]


@pytest.mark.parametrize(
    "survivor_is_older",
    [
        pytest.param(True, id="survivor-older"),
        pytest.param(False, id="newer"),
    ],
)
def test_merge_hands_the_nir_to_a_survivor_without_one(
    db: Database, world: World, survivor_is_older: bool
) -> None:
    with db.transaction() as s:
        first = create(s, world, nir=None if survivor_is_older else nir()).patient.id
        second = create(s, world, nir=nir() if survivor_is_older else None).patient.id
    survivor, merged = (first, second) if survivor_is_older else (second, first)
    with db.transaction() as s:
        patients.merge_identities(s, survivor_id=survivor, merged_id=merged, reason="Doublon")
    with db.transaction() as s:
        kept, gone = s.get(Patient, survivor), s.get(Patient, merged)
        assert kept is not None and gone is not None
        assert (kept.nir, kept.nir_hash) == (nir(), patients.nir_lookup_hash(nir()))
        assert gone.nir_hash is None
    assert_refused(
        db, lambda s: create(s, world, nir=nir()), ConflictError, "nir", f"patient #{survivor}"
    )


@dataclass
class Scene:
    w: World
    with_nir: int
    plain: int
    other_nir: int
    merged: int
    dead: int
    dead2: int
    stay1: int
    stay2: int


Action = Callable[[Session, Scene], object]


@pytest.fixture
def scene(db: Database, world: World) -> Scene:
    w = world
    with db.transaction() as s:
        ids = [create(s, w, birth_name=f"Nom{chr(65 + i)}").patient.id for i in range(6)]
        with_nir = create(s, w, nir=nir()).patient.id
        other = create(s, w, nir=OTHER_NIR, sex="female", birth_date=date(1975, 3, 9)).patient.id
        patients.merge_identities(s, survivor_id=ids[0], merged_id=ids[1], reason="same")
        for dead in ids[2:4]:
            patients.declare_death(
                s, patient_id=dead, died_at=NOW - timedelta(days=1), place="Domicile",
                declared_by_id=w.physician,
            )  # fmt: skip
        for staying in ids[4:6]:
            stays.admit(
                s, patient_id=staying, establishment_id=w.est_a, department_id=w.dept_a,
                responsible_id=w.physician, at=NOW - timedelta(hours=2), reason="Bilan",
            )  # fmt: skip
    return Scene(w, with_nir, ids[0], other, ids[1], ids[2], ids[3], ids[4], ids[5])


new = call(
    patients.create_patient, establishment_id=at("w.est_a"), birth_name="Dupont",
    birth_first_names=["Jean"], sex="male", birth_date=BORN,
)  # fmt: skip
register = call(
    patients.register_in_establishment, patient_id=at("plain"), establishment_id=at("w.est_b")
)
status = call(patients.set_identity_status, patient_id=at("plain"))
amo = call(
    patients.record_amo_coverage, patient_id=at("with_nir"), regime_code="01", fund_code="751",
    fund_name="CPAM", insured_nir=nir(), beneficiary="insured", valid_from=date(2024, 1, 1),
)  # fmt: skip
amc = call(
    patients.record_amc_coverage, patient_id=at("plain"), organism_number="12345678",
    organism_name="Mutuelle", member_number="AB12", valid_from=date(2024, 1, 1),
)  # fmt: skip
death = call(
    patients.declare_death, patient_id=at("plain"), died_at=NOW - timedelta(hours=1),
    place="Chambre 12", declared_by_id=at("w.physician"),
)  # fmt: skip
merge = call(patients.merge_identities, reason="Même personne")


# fmt: off
BAD_INPUTS = [
    pytest.param(new(establishment_id=999), NotFoundError, "establishment_id", "#999 does not exist", id="create-unknown-establishment"),
    pytest.param(new(birth_name="Dupont2"), ValidationError, "birth_name", "only letters", id="create-birth-name-digit"),
    pytest.param(new(birth_name=" "), ValidationError, "birth_name", "required", id="create-birth-name-empty"),
    pytest.param(new(birth_first_names=[" "]), ValidationError, "birth_first_names", "at least one", id="create-no-first-name"),
    pytest.param(new(birth_first_names=["Jean", "M@rie"]), ValidationError, "birth_first_names", "only letters", id="create-first-name-symbol"),
    pytest.param(new(birth_first_names=["A" * 100, "B" * 100, "C"]), ValidationError, "birth_first_names", "200 characters", id="create-first-names-too-long"),
    pytest.param(new(sex="M"), ValidationError, "sex", "female, male or unknown", id="create-bad-sex"),
    pytest.param(new(birth_date=local_date(NOW) + timedelta(days=1)), ValidationError, "birth_date", "in the future", id="create-born-tomorrow"),
    pytest.param(new(birth_date=date(1889, 12, 31)), ValidationError, "birth_date", "before 1890", id="create-born-too-early"),
    pytest.param(new(identity_status="checked"), ValidationError, "identity_status", "unknown identity status", id="create-unknown-status"),
    pytest.param(new(identity_status="retrieved"), ValidationError, "identity_status", "needs its INS", id="create-retrieved-without-nir"),
    pytest.param(new(identity_status="qualified"), ValidationError, "identity_status", "needs its INS", id="create-qualified-without-nir"),
    pytest.param(new(nir="1800575056"), ValidationError, "nir", "15 characters", id="create-nir-too-short"),
    pytest.param(new(nir=nir()[:-2] + "00"), ValidationError, "nir", "key", id="create-nir-bad-key"),
    pytest.param(new(nir=nir(sex=2)), ValidationError, "nir", "says female", id="create-nir-other-sex"),
    pytest.param(new(nir=nir(yy=81)), ValidationError, "nir", "born in ..81", id="create-nir-other-year"),
    pytest.param(new(nir=nir(mm=6)), ValidationError, "nir", "month 06", id="create-nir-other-month"),
    pytest.param(new(nir=spaced(nir()), birth_name="Autre"), ConflictError, "nir", "already exists", id="create-same-nir"),
    pytest.param(new(birth_place_code="7505"), ValidationError, "birth_place_code", "INSEE code", id="create-bad-birth-place"),
    pytest.param(new(used_name="M4rtin"), ValidationError, "used_name", "only letters", id="create-bad-used-name"),
    pytest.param(new(used_first_name="J3"), ValidationError, "used_first_name", "only letters", id="create-bad-used-first-name"),
    pytest.param(new(contact=patients.Contact(phone_mobile="12")), ValidationError, "phone_mobile", "phone", id="create-bad-phone"),
    pytest.param(new(contact=patients.Contact(email="x@y")), ValidationError, "email", "e-mail", id="create-bad-email"),
    pytest.param(new(contact=patients.Contact(postal_code="750")), ValidationError, "postal_code", "postal code", id="create-bad-postal-code"),
    pytest.param(new(attending_physician_id=at("w.nurse")), ValidationError, "attending_physician_id", "not a physician", id="create-attending-nurse"),
    pytest.param(new(attending_physician_id=999), NotFoundError, "attending_physician_id", "#999 does not exist", id="create-attending-unknown"),
    pytest.param(register(patient_id=999), NotFoundError, "patient_id", "patient #999", id="register-unknown-patient"),
    pytest.param(register(establishment_id=999), NotFoundError, "establishment_id", "#999", id="register-unknown-establishment"),
    pytest.param(register(patient_id=at("merged")), ConflictError, "patient_id", "was merged into", id="register-merged"),
    pytest.param(status(status="qualified"), ValidationError, "identity_status", "needs its INS", id="status-qualified-without-nir"),
    pytest.param(status(status="ok"), ValidationError, "identity_status", "unknown", id="status-unknown"),
    pytest.param(amo(patient_id=999), NotFoundError, "patient_id", "#999", id="amo-unknown-patient"),
    pytest.param(amo(patient_id=at("merged")), ConflictError, "patient_id", "merged", id="amo-merged-patient"),
    pytest.param(amo(regime_code="1"), ValidationError, "regime_code", "2-digit", id="amo-regime-short"),
    pytest.param(amo(regime_code="0²"), ValidationError, "regime_code", "2-digit", id="amo-regime-superscript"),
    pytest.param(amo(fund_code="75A"), ValidationError, "fund_code", "3-digit", id="amo-fund-letter"),
    pytest.param(amo(beneficiary="spouse"), ValidationError, "beneficiary", "insured or dependant", id="amo-beneficiary"),
    pytest.param(amo(insured_nir="123"), ValidationError, "insured_nir", "15 characters", id="amo-insured-nir"),
    pytest.param(amo(valid_until=date(2023, 12, 31)), ValidationError, "valid_until", "ends before", id="amo-period"),
    pytest.param(amo(fund_name=""), ValidationError, "fund_name", "required", id="amo-fund-name"),
    pytest.param(amc(organism_number="1234567"), ValidationError, "organism_number", "8 to 10", id="amc-organism-short"),
    pytest.param(amc(organism_number="1234567²"), ValidationError, "organism_number", "8 to 10", id="amc-organism-superscript"),
    pytest.param(amc(member_number="AB-12"), ValidationError, "member_number", "letters or digits", id="amc-member-symbol"),
    pytest.param(amc(member_number="A" * 31), ValidationError, "member_number", "1 to 30", id="amc-member-long"),
    pytest.param(amc(valid_until=date(2023, 1, 1)), ValidationError, "valid_until", "ends before", id="amc-period"),
    pytest.param(death(died_at=NOW + timedelta(days=2)), ValidationError, "died_at", "in the future", id="death-future"),
    pytest.param(death(died_at=NOW.replace(tzinfo=None)), ValidationError, "died_at", "time zone", id="death-naive"),
    pytest.param(death(died_at=datetime(1980, 5, 2, tzinfo=UTC)), ValidationError, "died_at", "before the birth date", id="death-before-birth"),
    pytest.param(death(place=" "), ValidationError, "place", "required", id="death-no-place"),
    pytest.param(death(declared_by_id=at("w.nurse")), ValidationError, "declared_by_id", "not a physician", id="death-by-nurse"),
    pytest.param(death(declared_by_id=999), NotFoundError, "declared_by_id", "#999", id="death-unknown-declarer"),
    pytest.param(death(patient_id=at("dead")), ConflictError, "patient_id", "already declared", id="death-twice"),
    pytest.param(death(patient_id=999), NotFoundError, "patient_id", "#999", id="death-unknown-patient"),
    pytest.param(merge(survivor_id=at("plain"), merged_id=at("plain")), ValidationError, "merged_id", "with itself", id="merge-into-itself"),
    pytest.param(merge(survivor_id=at("with_nir"), merged_id=at("other_nir")), ConflictError, "merged_id", "different NIR", id="merge-different-nirs"),
    pytest.param(merge(survivor_id=999, merged_id=at("plain")), NotFoundError, "survivor_id", "#999", id="merge-unknown-survivor"),
    pytest.param(merge(survivor_id=at("plain"), merged_id=999), NotFoundError, "merged_id", "#999", id="merge-unknown-merged"),
    pytest.param(merge(survivor_id=at("with_nir"), merged_id=at("merged")), ConflictError, "merged_id", "was merged into", id="merge-already-merged"),
    pytest.param(merge(survivor_id=at("merged"), merged_id=at("with_nir")), ConflictError, "survivor_id", "was merged into", id="merge-into-merged"),
    pytest.param(merge(survivor_id=at("dead"), merged_id=at("dead2")), ConflictError, "merged_id", "death declaration", id="merge-both-dead"),
    pytest.param(merge(survivor_id=at("stay1"), merged_id=at("stay2")), ConflictError, "merged_id", "stay in progress", id="merge-both-in-stay"),
    pytest.param(merge(survivor_id=at("plain"), merged_id=at("with_nir"), reason=" "), ValidationError, "reason", "required", id="merge-no-reason"),
]
# fmt: on


@pytest.mark.parametrize(("action", "error", "field", "match"), BAD_INPUTS)
def test_bad_input_is_refused_and_changes_nothing(
    db: Database, scene: Scene, action: Action, error: type[HygieError], field: str | None,
    match: str,
) -> None:  # fmt: skip
    assert_refused(db, lambda s: action(s, scene), error, field, match)
