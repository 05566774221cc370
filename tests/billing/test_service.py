"""Billing: acts priced from the shipped list and invoices split between AMO, AMC and patient."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from hygie import reference
from hygie.billing import service as billing
from hygie.db import Database
from hygie.errors import ConflictError, HygieError, NotFoundError, ValidationError
from hygie.kit.time import local_date
from hygie.models import ActSystem, BillableAct, Invoice, InvoiceStatus
from hygie.patients import service as patients
from hygie.scheduling import service as scheduling
from hygie.stays import service as stays
from tests.factories import World, build_world, finess, nir
from tests.refusals import assert_refused

NOW = datetime.now(UTC).replace(microsecond=0)
TODAY = local_date(NOW)  # "today" is the Paris day
BORN = date(1980, 5, 3)  # matches nir()
COVERED_FROM = TODAY - timedelta(days=30)


@dataclass
class Scene:
    w: World
    patients: dict[str, int]  # by coverage: full, amo_only, amc_only, none, amo_expired


def new_patient(s: Session, w: World, name: str) -> int:
    return patients.create_patient(
        s, establishment_id=w.est_a, birth_name=name, birth_first_names=["Lou"], sex="male",
        birth_date=BORN,
    ).patient.id  # fmt: skip


def cover(s: Session, patient_id: int, *, amo: bool, amc: bool, until: date | None = None) -> None:
    if amo:
        patients.record_amo_coverage(
            s, patient_id=patient_id, regime_code="01", fund_code="751", fund_name="CPAM",
            insured_nir=nir(), beneficiary="insured", valid_from=COVERED_FROM, valid_until=until,
        )  # fmt: skip
    if amc:
        patients.record_amc_coverage(
            s, patient_id=patient_id, organism_number="123456789", organism_name="Mutuelle",
            member_number="A1", valid_from=COVERED_FROM,
        )  # fmt: skip


@pytest.fixture
def scene(db: Database) -> Scene:
    with db.transaction() as s:
        w = build_world(s)
        ids = {}
        for name, amo, amc in [
            ("full", True, True),
            ("amo_only", True, False),
            ("amc_only", False, True),
            ("none", False, False),
            ("amo_expired", True, True),
        ]:
            ids[name] = new_patient(s, w, name.replace("_", " "))
            cover(
                s,
                ids[name],
                amo=amo,
                amc=amc,
                until=TODAY - timedelta(days=2) if name == "amo_expired" else None,
            )
    return Scene(w, ids)


def act(s: Session, c: Scene, who: str = "full", **overrides: Any) -> BillableAct:
    fields: dict[str, Any] = dict(
        patient_id=c.patients[who], establishment_id=c.w.est_a, code="G", performed_on=TODAY,
        practitioner_id=c.w.physician,
    )  # fmt: skip
    return billing.record_act(s, **{**fields, **overrides})


@pytest.mark.parametrize("code", ["G", "DEQP003", "F", "QZLA004", "IK", "MU"])
def test_an_act_is_priced_from_the_shipped_list(db: Database, scene: Scene, code: str) -> None:
    shipped = reference.acts()[code]
    with db.transaction() as s:
        recorded = act(s, scene, code=f" {code.lower()} ")
    with db.transaction() as s:
        stored = s.get(BillableAct, recorded.id)
        assert stored is not None
        assert (stored.code, stored.system, stored.invoice_id) == (
            code,
            ActSystem(shipped.system),
            None,
        )
        assert stored.amount_cents == int(shipped.amount_eur * 100)
        assert stored.amount_cents / 100 == float(shipped.amount_eur)  # exact cents


# G: 30.00 € NGAP (AMO 70 %), DEQP003: 14.26 € CCAM (AMO 80 %, 1140.8 rounded down)
@pytest.mark.parametrize(
    ("who", "amo", "amc", "patient"),
    [
        ("full", 2100 + 1140, 900 + 286, 0),
        ("amo_only", 2100 + 1140, 0, 900 + 286),
        ("amc_only", 0, 0, 4426),  # the mutuelle only tops up the statutory share
        ("none", 0, 0, 4426),
        ("amo_expired", 0, 0, 4426),
    ],
)
def test_invoice_shares(
    db: Database, scene: Scene, who: str, amo: int, amc: int, patient: int
) -> None:
    with db.transaction() as s:
        acts = [act(s, scene, who, code="G"), act(s, scene, who, code="DEQP003")]
        invoice = billing.issue_invoice(
            s, patient_id=scene.patients[who], establishment_id=scene.w.est_a, now=NOW
        )
    with db.transaction() as s:
        stored = s.get(Invoice, invoice.id)
        assert stored is not None
        assert (stored.total_cents, stored.amo_cents, stored.amc_cents, stored.patient_cents) == (
            4426, amo, amc, patient,
        )  # fmt: skip
        assert (stored.status, stored.issued_at, stored.patient_id) == (
            InvoiceStatus.ISSUED, NOW, scene.patients[who],
        )  # fmt: skip
        attached = s.scalars(select(BillableAct.id).where(BillableAct.invoice_id == invoice.id))
        assert sorted(attached) == [a.id for a in acts]


def test_coverage_is_read_on_the_day_of_each_act(db: Database, scene: Scene) -> None:
    before = COVERED_FROM - timedelta(days=1)
    with db.transaction() as s:
        act(s, scene, performed_on=before)  # not yet covered: patient pays 3000
        act(s, scene, performed_on=COVERED_FROM)  # covered: AMO 2100, AMC 900
        act(s, scene, "amo_expired", performed_on=TODAY - timedelta(days=2))  # last covered day
        full = billing.issue_invoice(
            s, patient_id=scene.patients["full"], establishment_id=scene.w.est_a
        )
        expired = billing.issue_invoice(
            s, patient_id=scene.patients["amo_expired"], establishment_id=scene.w.est_a
        )
    assert (full.total_cents, full.amo_cents, full.amc_cents, full.patient_cents) == (
        6000,
        2100,
        900,
        3000,
    )
    assert (expired.amo_cents, expired.amc_cents, expired.patient_cents) == (2100, 900, 0)


def test_invoice_numbers_follow_each_other_per_establishment_and_year(
    db: Database, scene: Scene
) -> None:
    w = scene.w
    next_year = NOW.replace(year=NOW.year + 1)
    with db.transaction() as s:
        first, second, third = (act(s, scene) for _ in range(3))
        patients.register_in_establishment(
            s, patient_id=scene.patients["full"], establishment_id=w.est_b
        )
        elsewhere = act(s, scene, establishment_id=w.est_b)
        numbers = [
            billing.issue_invoice(
                s, patient_id=scene.patients["full"], establishment_id=est, act_ids=ids, now=when
            ).number
            for est, ids, when in [
                (w.est_a, [first.id], NOW),
                (w.est_a, [second.id, second.id], NOW),
                (w.est_b, None, NOW),
                (w.est_a, [third.id], next_year),
            ]
        ]
    prefixes = [n.rsplit("-", 1)[0] for n in numbers]
    assert prefixes == [
        f"F{finess(1)}-{NOW.year}",
        f"F{finess(1)}-{NOW.year}",
        f"F{finess(2)}-{NOW.year}",
        f"F{finess(1)}-{NOW.year + 1}",
    ]
    sequences = [n.rsplit("-", 1)[1] for n in numbers]
    assert [int(q) for q in sequences] == [1, 2, 1, 1]
    assert len({len(q) for q in sequences}) == 1 and len(sequences[0]) >= 6  # zero-padded
    with db.transaction() as s:
        assert s.get(BillableAct, elsewhere.id).invoice_id is not None  # type: ignore[union-attr]


def test_acts_can_name_their_encounter_or_appointment(db: Database, scene: Scene) -> None:
    w, patient = scene.w, scene.patients["full"]
    with db.transaction() as s:
        visit = stays.record_visit(
            s, patient_id=patient, establishment_id=w.est_a, department_id=w.dept_a,
            responsible_id=w.physician, at=NOW - timedelta(hours=1), duration_min=15, reason="RAS",
        )  # fmt: skip
        booked = scheduling.book_appointment(
            s, patient_id=patient, practitioner_id=w.physician, establishment_id=w.est_a,
            start_at=NOW + timedelta(days=1), duration_min=15, reason="Suivi",
        )  # fmt: skip
        with pytest.raises(ValidationError, match="only a consultation that took place"):
            act(s, scene, appointment_id=booked.id, code="K")
        for status in ("arrived", "done"):
            scheduling.set_appointment_status(
                s, appointment_id=booked.id, status=status, now=NOW + timedelta(days=1, minutes=5)
            )
        recorded = act(s, scene, encounter_id=visit.id, appointment_id=booked.id, code="K")
    assert (recorded.encounter_id, recorded.appointment_id, recorded.amount_cents) == (
        visit.id, booked.id, 192,
    )  # fmt: skip


def rec(who: str = "full", **overrides: Any) -> Callable[[Session, Scene], object]:
    """record_act with valid arguments but ``overrides``."""
    return lambda s, c: act(
        s, c, who, **{k: v(c) if callable(v) else v for k, v in overrides.items()}
    )


def inv(
    who: str = "full", before: Callable[[Session, Scene], object] | None = None, **overrides: Any
) -> Callable[[Session, Scene], object]:
    """issue_invoice, after ``before`` (which may record acts), with ``overrides``."""

    def action(s: Session, c: Scene) -> object:
        made = before(s, c) if before else None
        fields: dict[str, Any] = dict(patient_id=c.patients[who], establishment_id=c.w.est_a)
        fields.update({k: v(c, made) if callable(v) else v for k, v in overrides.items()})
        return billing.issue_invoice(s, **fields)

    return action


def invoiced_act(s: Session, c: Scene) -> BillableAct:
    done = act(s, c)
    billing.issue_invoice(s, patient_id=c.patients["full"], establishment_id=c.w.est_a)
    return done


def visit_of_other(s: Session, c: Scene) -> int:
    return stays.record_visit(
        s, patient_id=c.patients["none"], establishment_id=c.w.est_a, department_id=c.w.dept_a,
        responsible_id=c.w.physician, at=NOW - timedelta(hours=1), duration_min=15, reason="RAS",
    ).id  # fmt: skip


# fmt: off
BAD_INPUTS = [
    pytest.param(rec(patient_id=999), NotFoundError, "patient_id", "patient #999", id="act-unknown-patient"),
    pytest.param(rec(establishment_id=999), NotFoundError, "establishment_id", "#999", id="act-unknown-establishment"),
    pytest.param(rec(practitioner_id=999), NotFoundError, "practitioner_id", "practitioner #999", id="act-unknown-practitioner"),
    pytest.param(rec(practitioner_id=lambda c: c.w.secretary), ValidationError, "practitioner_id", "must be|is not", id="act-by-secretary"),
    pytest.param(lambda s, c: (patients.declare_death(s, patient_id=c.patients["full"], died_at=NOW - timedelta(days=2), place="Domicile", declared_by_id=c.w.physician), act(s, c)), ValidationError, "performed_on", "death", id="act-after-death"),
    pytest.param(rec(code="XYZ"), ValidationError, "code", "not a CCAM or NGAP code", id="act-unknown-code"),
    pytest.param(rec(code=" "), ValidationError, "code", "not a CCAM or NGAP code", id="act-empty-code"),
    pytest.param(rec(performed_on=TODAY + timedelta(days=1)), ValidationError, "performed_on", "between the birth date and today", id="act-tomorrow"),
    pytest.param(rec(performed_on=BORN - timedelta(days=1)), ValidationError, "performed_on", "between the birth date and today", id="act-before-birth"),
    pytest.param(rec(encounter_id=999), NotFoundError, "encounter_id", "encounter #999", id="act-unknown-encounter"),
    pytest.param(rec(appointment_id=999), NotFoundError, "appointment_id", "appointment #999", id="act-unknown-appointment"),
    pytest.param(lambda s, c: act(s, c, encounter_id=visit_of_other(s, c)), ValidationError, "encounter_id", "another patient", id="act-other-patients-encounter"),
    pytest.param(inv(), ValidationError, "act_ids", "nothing to invoice", id="invoice-nothing"),
    pytest.param(inv(act_ids=[]), ValidationError, "act_ids", "nothing to invoice", id="invoice-empty-list"),
    pytest.param(inv(before=invoiced_act), ValidationError, "act_ids", "nothing to invoice", id="invoice-everything-already-invoiced"),
    pytest.param(inv(before=invoiced_act, act_ids=lambda c, a: [a.id]), ValidationError, "act_ids", "already invoiced", id="invoice-an-invoiced-act"),
    pytest.param(inv(before=lambda s, c: act(s, c), act_ids=lambda c, a: [a.id, 999]), ValidationError, "act_ids", "do not exist", id="invoice-unknown-act"),
    pytest.param(inv("none", before=lambda s, c: act(s, c), act_ids=lambda c, a: [a.id]), ValidationError, "act_ids", "belong elsewhere", id="invoice-other-patients-act"),
    pytest.param(inv(before=lambda s, c: (patients.register_in_establishment(s, patient_id=c.patients["full"], establishment_id=c.w.est_b), act(s, c, establishment_id=c.w.est_b))), ValidationError, "act_ids", "nothing to invoice", id="invoice-acts-of-another-establishment"),
    pytest.param(inv(patient_id=999), NotFoundError, "patient_id", "#999", id="invoice-unknown-patient"),
    pytest.param(inv(before=lambda s, c: act(s, c), establishment_id=999), NotFoundError, "establishment_id", "#999", id="invoice-unknown-establishment"),
]
# fmt: on


@pytest.mark.parametrize(("action", "error", "field", "match"), BAD_INPUTS)
def test_bad_input_is_refused_and_changes_nothing(
    db: Database,
    scene: Scene,
    action: Callable[[Session, Scene], object],
    error: type[HygieError],
    field: str | None,
    match: str,
) -> None:
    assert_refused(db, lambda s: action(s, scene), error, field, match)


def test_a_merged_identity_cannot_be_billed(db: Database, scene: Scene) -> None:
    with db.transaction() as s:
        patients.merge_identities(
            s,
            survivor_id=scene.patients["full"],
            merged_id=scene.patients["none"],
            reason="Doublon",
        )
    assert_refused(
        db, lambda s: rec("none")(s, scene), ConflictError, "patient_id", "was merged into"
    )
