"""Reads for one-thing-at-a-time interfaces: a page of patients with its total, a chart of
chosen blocks with required ones, one item of a record; each decided and recorded."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from hygie.access import gateway, records
from hygie.access.actor import Actor, load_actor
from hygie.access.gateway import AccessDenied
from hygie.access.policy import Category
from hygie.db import Database
from hygie.errors import NotFoundError, ValidationError
from hygie.models import Allergy, AuditEvent
from hygie.patients import service as patients
from tests.factories import World, finess, nir


def actor(db: Database, username: str) -> Actor:
    with db.sessions() as s:
        return load_actor(s, username=username, how="api", ip="127.0.0.1", user_agent="pytest")


def last_event(db: Database) -> AuditEvent:
    with db.sessions() as s:
        event = s.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
        assert event is not None
        return event


@pytest.fixture
def many(db: Database, world: World) -> list[int]:
    """Twelve Dupont in A (birth dates 1950 + i), one Dupond in B."""
    ids = []
    with db.transaction() as s:
        for i in range(12):
            ids.append(
                patients.create_patient(
                    s, establishment_id=world.est_a, birth_name="Dupont",
                    birth_first_names=[f"Jean{chr(65 + i)}"], sex="male" if i % 2 else "female",
                    birth_date=date(1950 + i, 1, 1),
                ).patient.id
            )  # fmt: skip
        patients.create_patient(
            s, establishment_id=world.est_b, birth_name="Dupond", birth_first_names=["Luc"],
            sex="male", birth_date=date(1970, 1, 1),
        )  # fmt: skip
    return ids


def test_pages_carry_the_total_and_each_is_recorded(
    db: Database, world: World, many: list[int]
) -> None:
    sec = actor(db, "sec.a")
    first = records.find_patients(db, sec, records.PatientQuery(family="dupo"), count=5)
    assert first.total == 12 and len(first.patients) == 5
    rest = records.find_patients(db, sec, records.PatientQuery(family="dupo"), offset=10, count=5)
    assert len(rest.patients) == 2
    seen = {p.id for p in first.patients} | {p.id for p in rest.patients}
    assert seen <= set(many)  # the Dupond of B stays out of A's secretary's reach
    event = last_event(db)
    assert (event.action, event.level, event.record_count) == ("patient.search", "summary", 2)
    assert event.details["offset"] == 10 and event.details["total"] == 12


def test_criteria_combine(db: Database, world: World, many: list[int]) -> None:
    sec = actor(db, "sec.a")
    q = records.PatientQuery(family="dupont", given="jeanc", birth_date=date(1952, 1, 1))
    page = records.find_patients(db, sec, q)
    assert [p.id for p in page.patients] == [many[2]]
    males = records.find_patients(db, sec, records.PatientQuery(name="dupont", sex="male"))
    assert males.total == 6
    by_given = records.find_patients(db, sec, records.PatientQuery(name="jeana"))
    assert [p.id for p in by_given.patients] == [many[0]]


def test_identifiers_find_exactly_and_the_trail_never_holds_a_nir(
    db: Database, world: World, patient: int
) -> None:
    sec = actor(db, "sec.a")
    page = records.find_patients(db, sec, records.PatientQuery(nir=nir(sex=2)))
    assert [p.id for p in page.patients] == [patient]
    assert nir(sex=2) not in str(last_event(db).details)
    with db.sessions() as s:
        ipp = patients_ipp(s, patient)
    page = records.find_patients(db, sec, records.PatientQuery(ipp=(finess(1), ipp)))
    assert [p.id for p in page.patients] == [patient]
    none = records.find_patients(db, sec, records.PatientQuery(ipp=(finess(2), ipp)))
    assert none.total == 0


def patients_ipp(session: object, patient_id: int) -> str:
    from hygie.models import PatientRegistration

    reg = session.scalars(  # type: ignore[attr-defined]
        select(PatientRegistration).where(PatientRegistration.patient_id == patient_id)
    ).first()
    return str(reg.ipp)


@pytest.mark.parametrize(
    "query",
    [
        records.PatientQuery(),
        records.PatientQuery(birth_date=date(1950, 1, 1)),
        records.PatientQuery(given="jean"),
        records.PatientQuery(family="d"),
        records.PatientQuery(family="dupont", sex="other"),
    ],
)
def test_searches_that_would_list_the_file_are_refused(
    db: Database, world: World, query: records.PatientQuery
) -> None:
    with pytest.raises(ValidationError):
        records.find_patients(db, actor(db, "sec.a"), query)


def test_roles_without_identity_are_refused_and_recorded(db: Database, world: World) -> None:
    with pytest.raises(AccessDenied):
        records.find_patients(db, actor(db, "it.admin"), records.PatientQuery(family="dupont"))
    assert last_event(db).outcome == "denied"


def test_required_clinical_block_refused_as_a_whole(
    db: Database, world: World, patient: int
) -> None:
    with pytest.raises(AccessDenied):
        gateway.read_chart(
            db, actor(db, "sec.a"), patient, categories=frozenset({Category.CONDITIONS}),
            require=frozenset({Category.CONDITIONS}), action="fhir.search",
        )  # fmt: skip
    event = last_event(db)
    assert (event.action, event.outcome, event.categories) == (
        "fhir.search",
        "denied",
        ["conditions"],
    )
    assert "secretary" in (event.reason or "")


def test_chosen_blocks_only_are_read_and_recorded(db: Database, world: World, patient: int) -> None:
    chart = gateway.read_chart(
        db, actor(db, "dr.a"), patient,
        categories=frozenset({Category.IDENTITY, Category.CONTACT}), action="fhir.read",
    )  # fmt: skip
    assert set(chart.blocks) == {"identity", "contact"}
    assert last_event(db).categories == ["contact", "identity"]


def test_one_item_is_read_as_its_block(db: Database, world: World, patient: int) -> None:
    with db.sessions() as s:
        allergy_id = s.scalars(select(Allergy.id).where(Allergy.patient_id == patient)).one()
    chart, item = records.read_item(
        db, actor(db, "dr.a"), kind="allergy", item_id=allergy_id, action="fhir.read"
    )
    assert item["substance"] == "Pénicillines" and set(chart.blocks) == {"allergies"}
    event = last_event(db)
    assert event.details["item"] == f"allergy/{allergy_id}" and event.patient_ids == [patient]
    with pytest.raises(NotFoundError):  # B's physician: the patient is not even there
        records.read_item(db, actor(db, "dr.b"), kind="allergy", item_id=allergy_id, action="x")
    with pytest.raises(AccessDenied):  # A's secretary: there, but no clinical content
        records.read_item(db, actor(db, "sec.a"), kind="allergy", item_id=allergy_id, action="x")
    with pytest.raises(NotFoundError):
        records.read_item(db, actor(db, "dr.a"), kind="allergy", item_id=99999, action="x")
    assert last_event(db).outcome == "denied"


def test_found_by_two_names_counts_once(db: Database, world: World) -> None:
    with db.transaction() as s:
        both = patients.create_patient(
            s, establishment_id=world.est_a, birth_name="Moreau", used_name="Moreaux",
            birth_first_names=["Anne"], sex="female", birth_date=date(1970, 1, 1),
        ).patient.id  # fmt: skip
        used_only = patients.create_patient(
            s, establishment_id=world.est_a, birth_name="Petit", used_name="Morel",
            birth_first_names=["Lise"], sex="female", birth_date=date(1971, 1, 1),
        ).patient.id  # fmt: skip
    page = records.find_patients(db, actor(db, "sec.a"), records.PatientQuery(family="more"))
    assert page.total == 2
    assert [p.id for p in page.patients] == [both, used_only]  # Moreau, then Morel
    counted = records.find_patients(
        db, actor(db, "sec.a"), records.PatientQuery(family="more"), count=0
    )
    assert (counted.total, counted.patients) == (2, [])
