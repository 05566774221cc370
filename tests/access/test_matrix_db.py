"""The permission matrix, run against the database through the gate (SQLite and PostgreSQL).

Every role × data category × read/write × same or other establishment × with or without
care relationship × with or without break-the-glass is one real call to the gate's public
functions, on a patient set up for that cell; the outcome (allowed or refused) is compared
with the expectation restated from the issue in ``test_policy.py`` (not read from the table
under test), and the trail must hold the access with that outcome.

How the cells are built: the actor holds its role in establishment A only. "Same
establishment": the patient has a file in A; "other": only in B. "Care relationship": the
actor's professional is an explicit care-team member (only clinicians can be; for other
roles the cell runs without one, which changes nothing since they read no clinical
content). "Break-the-glass": a live grant for the actor on that patient. Reading *audit*
is reading the patient's access history; writing it is reviewing someone's break-the-glass
on that patient; *accounts* are listed and created in the patient's establishment.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from hygie.access import accounts, billing, history, writes
from hygie.access.actor import Actor, load_actor
from hygie.access.gateway import AccessDenied, read_chart
from hygie.access.policy import CLINICAL, Action, Category
from hygie.auth.service import ROLE_PROFESSION
from hygie.clinical import service as clinical
from hygie.db import Database
from hygie.errors import NotFoundError
from hygie.models import AccountKind, AuditEvent, BreakGlass, Establishment, Profession, Role
from hygie.patients import service as patients
from hygie.staff import service as staff
from tests.access.test_policy import READS, WRITES
from tests.factories import DAY0, World, rpps

C = Category
CHART = {C.IDENTITY, C.CONTACT, C.COVERAGE, C.APPOINTMENTS, C.STAYS} | CLINICAL
CLINICIANS = {Profession.PHYSICIAN, Profession.NURSE, Profession.PHARMACIST}
SUB_CELLS = list(itertools.product((True, False), (True, False), (True, False)))


def expected(role: Role, category: Category, action: Action, same: bool, care: bool,
             glass: bool) -> bool:  # fmt: skip
    """The issue's rule, through the gate: a granted category, in the actor's establishment,
    and for clinical content a care relationship or a break-the-glass."""
    granted = (READS if action == Action.READ else WRITES)[role]
    if category not in granted or not same:
        return False
    return category not in CLINICAL or care or glass


@dataclass
class Cell:
    patient_id: int
    establishment_id: int
    finess: str
    physician_id: int  # a physician of the patient's establishment
    department_id: int
    review_grant_id: int  # someone else's break-the-glass on this patient, to review


@dataclass
class Scene:
    db: Database
    world: World
    actor: Actor
    cells: dict[tuple[bool, bool, bool], Cell]
    counter: itertools.count[int]


def _scene(db: Database, world: World, role: Role) -> Scene:
    now = datetime.now(UTC)
    # The interface role belongs to system accounts (feeds), which are no professional.
    profession = ROLE_PROFESSION.get(role)
    with db.transaction() as s:
        if profession is None:
            prof = None
            user = staff.create_user(
                s, username="actor", display_name="Actor", kind=AccountKind.SYSTEM
            )
        else:
            prof = staff.create_professional(
                s, profession=profession.value, family_name="Acteur", given_name="Test",
                rpps=rpps(90) if profession in CLINICIANS else None,
            )  # fmt: skip
            user = staff.create_user(
                s, username="actor", display_name="Actor", professional_id=prof.id
            )
        staff.grant_habilitation(
            s, user_id=user.id, establishment_id=world.est_a, role=role.value, valid_from=DAY0
        )
        finess = {e.id: e.finess for e in s.scalars(select(Establishment))}
        cells: dict[tuple[bool, bool, bool], Cell] = {}
        for n, (same, care, glass) in enumerate(SUB_CELLS):
            est = world.est_a if same else world.est_b
            p = patients.create_patient(
                s, establishment_id=est, birth_name=f"Cellule{chr(65 + n)}",
                birth_first_names=["Zoé"], sex="female", birth_date=date(1970, 1, 1 + n),
            ).patient  # fmt: skip
            if care and prof is not None and profession in CLINICIANS:
                clinical.add_care_team_member(
                    s, patient_id=p.id, professional_id=prof.id, establishment_id=est,
                    role="pharmacist" if profession == Profession.PHARMACIST else "consultant",
                    start_date=DAY0,
                )  # fmt: skip
            if glass:
                s.add(_grant(user.id, p.id, est, now))
            review = _grant(world.physician_user, p.id, est, now)
            s.add(review)
            s.flush()
            cells[(same, care, glass)] = Cell(
                patient_id=p.id, establishment_id=est, finess=finess[est],
                physician_id=world.physician if same else world.physician_b,
                department_id=world.dept_a if same else world.dept_b, review_grant_id=review.id,
            )  # fmt: skip
        actor = load_actor(s, username="actor", how="api", ip="127.0.0.1", user_agent="matrix")
    return Scene(db=db, world=world, actor=actor, cells=cells, counter=itertools.count(1))


def _grant(user_id: int, patient_id: int, est: int, now: datetime) -> BreakGlass:
    return BreakGlass(
        user_id=user_id, patient_id=patient_id, establishment_id=est, reason_code="emergency",
        reason_text="Patient inconscient aux urgences", granted_at=now,
        expires_at=now + timedelta(hours=4),
    )  # fmt: skip


Operation = Callable[[Scene, Cell], bool]  # True: allowed; refusals raise


def _chart(category: Category) -> Operation:
    return lambda sc, c: category.value in read_chart(sc.db, sc.actor, c.patient_id).blocks


def _write_identity(sc: Scene, c: Cell) -> bool:
    writes.create_patient(
        sc.db, sc.actor, establishment_id=c.establishment_id, birth_name="Nouveau" + _letters(next(sc.counter)),
        birth_first_names=["Léa"], sex="female", birth_date=date(1990, 2, 3),
    )  # fmt: skip
    return True


def _letters(n: int) -> str:
    """A number written in letters (names hold only letters)."""
    return "".join(chr(97 + int(d)) for d in str(n))


def _update_contact(sc: Scene, c: Cell) -> bool:
    contact = patients.Contact(city="Lyon")
    writes.update_contact(sc.db, sc.actor, patient_id=c.patient_id, contact=contact)
    return True


def _book(sc: Scene, c: Cell) -> bool:
    writes.book_appointment(
        sc.db, sc.actor, patient_id=c.patient_id, establishment_id=c.establishment_id,
        practitioner_id=c.physician_id, duration_min=20, reason="Consultation",
        start_at=datetime.now(UTC) + timedelta(days=3, hours=next(sc.counter)),
    )  # fmt: skip
    return True


def _admit(sc: Scene, c: Cell) -> bool:
    writes.admit(
        sc.db, sc.actor, patient_id=c.patient_id, establishment_id=c.establishment_id,
        department_id=c.department_id, responsible_id=c.physician_id,
        at=datetime.now(UTC) - timedelta(minutes=5), reason="Bilan",
    )  # fmt: skip
    return True


OPERATIONS: dict[tuple[Category, Action], Operation] = {
    **{(cat, Action.READ): _chart(cat) for cat in CHART},
    (C.BILLING, Action.READ): lambda sc, c: bool(billing.read_billing(sc.db, sc.actor, c.patient_id)),
    (C.AUDIT, Action.READ): lambda sc, c: (
        history.access_history(sc.db, sc.actor, c.patient_id) is not None
    ),
    (C.ACCOUNTS, Action.READ): lambda sc, c: (
        accounts.list_accounts(sc.db, sc.actor, establishment_id=c.establishment_id) is not None
    ),
    (C.IDENTITY, Action.WRITE): _write_identity,
    (C.CONTACT, Action.WRITE): _update_contact,
    (C.COVERAGE, Action.WRITE): lambda sc, c: bool(writes.record_amc_coverage(
        sc.db, sc.actor, patient_id=c.patient_id, organism_number="12345678",
        organism_name="Mutuelle Test", member_number="M42", valid_from=DAY0,
    )),
    (C.APPOINTMENTS, Action.WRITE): _book,
    (C.STAYS, Action.WRITE): _admit,
    (C.ALLERGIES, Action.WRITE): lambda sc, c: bool(writes.record_allergy(
        sc.db, sc.actor, patient_id=c.patient_id, establishment_id=c.establishment_id,
        substance="Latex", reaction="eczéma", severity="moderate",
    )),
    (C.CONDITIONS, Action.WRITE): lambda sc, c: bool(writes.add_condition(
        sc.db, sc.actor, patient_id=c.patient_id, establishment_id=c.establishment_id, code="E11.9",
    )),
    (C.NOTES, Action.WRITE): lambda sc, c: bool(writes.write_note(
        sc.db, sc.actor, patient_id=c.patient_id, establishment_id=c.establishment_id,
        kind="consultation", text="Examen clinique sans particularité.",
    )),
    (C.PRESCRIPTIONS, Action.WRITE): lambda sc, c: bool(writes.prescribe(
        sc.db, sc.actor, patient_id=c.patient_id, establishment_id=c.establishment_id,
        drug_code="D0001", dose="1 g", frequency="toutes les 6 h", duration_days=5,
    )),
    (C.BILLING, Action.WRITE): lambda sc, c: bool(writes.record_act(
        sc.db, sc.actor, patient_id=c.patient_id, establishment_id=c.establishment_id,
        code="G", performed_on=datetime.now(UTC).date() - timedelta(days=1), practitioner_id=c.physician_id,
    )),
    (C.AUDIT, Action.WRITE): lambda sc, c: bool(history.review_break_glass(
        sc.db, sc.actor, grant_id=c.review_grant_id, outcome="justified",
        note="Vérifié avec le service des urgences.",
    )),
    (C.ACCOUNTS, Action.WRITE): lambda sc, c: bool(accounts.create_account(
        sc.db, sc.actor, username=f"new.account{next(sc.counter)}", role="nurse",
        establishments=[c.finess],
    )),
}  # fmt: skip


def _events(db: Database) -> list[AuditEvent]:
    with db.sessions() as s:
        return list(s.scalars(select(AuditEvent).order_by(AuditEvent.id)))


def _run(sc: Scene, op: Operation, cell: Cell) -> bool:
    try:
        return op(sc, cell)
    except (AccessDenied, NotFoundError):
        return False


@pytest.mark.parametrize("action", list(Action))
@pytest.mark.parametrize("role", list(Role))
def test_the_gate_applies_the_matrix(
    db: Database, world: World, role: Role, action: Action
) -> None:
    scene = _scene(db, world, role)
    wrong: list[str] = []
    outcomes: set[bool] = set()
    for category in Category:
        op = OPERATIONS[(category, action)]
        for (same, care, glass), cell in scene.cells.items():
            before = len(_events(db))
            got = _run(scene, op, cell)
            want = expected(role, category, action, same, care, glass)
            outcomes.add(got)
            where = f"{category.value} same={same} care={care} glass={glass}"
            if got != want:
                wrong.append(f"{where}: got {'allowed' if got else 'refused'}")
            new = _events(db)[before:]
            if not new:
                wrong.append(f"{where}: nothing in the trail")
            elif not got and any(e.outcome == "allowed" for e in new) and category not in CHART:
                wrong.append(f"{where}: refused but the trail says allowed")
            elif not got and category not in CHART and not all(e.reason for e in new):
                wrong.append(f"{where}: a refusal without its reason in the trail")
    assert not wrong, f"{role.value} {action.value}:\n" + "\n".join(wrong)
    # Every role has both allowed and refused cells, except where the issue says "nothing".
    nothing = (role, action) in {(Role.PHARMACIST, Action.WRITE)}
    assert outcomes == ({False} if nothing else {True, False})


def test_every_category_and_action_has_an_operation() -> None:
    assert set(OPERATIONS) == set(itertools.product(Category, Action))


def test_a_refused_write_changes_nothing(db: Database, world: World) -> None:
    """A nurse may not prescribe: the refusal leaves no prescription, only its trace."""
    scene = _scene(db, world, Role.NURSE)
    cell = scene.cells[(True, True, False)]
    with db.sessions() as s:
        from hygie.models import Prescription

        count = s.scalar(select(func.count()).select_from(Prescription))
    with pytest.raises(AccessDenied, match="may not write prescriptions"):
        OPERATIONS[(C.PRESCRIPTIONS, Action.WRITE)](scene, cell)
    with db.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Prescription)) == count
    last = _events(db)[-1]
    assert (last.action, last.outcome, last.patient_ids) == (
        "prescription.write",
        "denied",
        [cell.patient_id],
    )
    assert last.reason and "may not write prescriptions" in last.reason
