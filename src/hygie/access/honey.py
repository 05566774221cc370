"""Honey records: decoy patients planted in each establishment (issue 5, containment).

A decoy is an ordinary-looking identity (names and birth dates drawn like the generated
patients', an address, a phone number) with a file in one establishment and nothing else:
no appointment, stay, attending physician or care team, so no legitimate work leads to it.
Someone paging through lists meets decoys among real patients and cannot tell them apart;
the detector knows them (``honey_records``): a decoy's record opened contains the account
at once, decoys appearing in its lists raise an alert, then contain.

Planting is an operator's command (``hygie honey plant``, and ``hygie demo``), recorded in
the trail with the decoys' ids, which only security officers read."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta

from faker import Faker
from sqlalchemy import func, select

from hygie.access import audit, containment
from hygie.access.maintenance import operator
from hygie.access.scope import EVERY_ESTABLISHMENT, gate_transaction
from hygie.db import Database
from hygie.errors import ValidationError
from hygie.kit import clock
from hygie.models import HoneyRecord
from hygie.patients import service as patients
from hygie.storage import organisation as org_store

MAX_PER_ESTABLISHMENT = 100


def plant(
    db: Database, *, per_establishment: int, seed: int | None = None, now: datetime | None = None
) -> list[int]:
    """Plant ``per_establishment`` decoys in every establishment; their patient ids."""
    if not 1 <= per_establishment <= MAX_PER_ESTABLISHMENT:
        raise ValidationError(f"between 1 and {MAX_PER_ESTABLISHMENT}", field="per_establishment")
    now = now or clock.now()
    rng = random.Random(seed)  # noqa: S311 - plausible names, not secrets
    fake = Faker("fr_FR")
    fake.seed_instance(rng.randrange(2**32))
    planted: list[int] = []
    with gate_transaction(db, EVERY_ESTABLISHMENT) as session:
        for est in org_store.establishments(session):
            for _ in range(per_establishment):
                sex = rng.choice(("female", "male"))
                first = fake.first_name_female() if sex == "female" else fake.first_name_male()
                created = patients.create_patient(
                    session, establishment_id=est.id, birth_name=fake.last_name(),
                    birth_first_names=[first], sex=sex, birth_date=_birth_date(rng, now.date()),
                    contact=patients.Contact(
                        address_line=fake.street_address(), postal_code=fake.postcode(),
                        city=fake.city(), phone_mobile="06" + f"{rng.randrange(10**8):08d}",
                    ),
                )  # fmt: skip
                session.add(HoneyRecord(patient_id=created.patient.id, establishment_id=est.id,
                                        planted_at=now))  # fmt: skip
                planted.append(created.patient.id)
        session.flush()
        audit.record(
            session,
            audit.Entry(
                action="honey.plant", outcome="allowed", how="cli", purpose="maintenance",
                patient_ids=planted, record_count=len(planted),
                details={"operator": operator(), "per_establishment": per_establishment},
            ),
            now=now,
        )  # fmt: skip
    guard = containment.guard_for(db.engine)
    guard.detector.honey = guard.detector.honey | frozenset(planted)
    return planted


def count(db: Database) -> int:
    with gate_transaction(db, frozenset()) as session:
        return int(session.scalar(select(func.count()).select_from(HoneyRecord)) or 0)


def _birth_date(rng: random.Random, today: date) -> date:
    """An adult's birth date, as common as real patients' (18 to 90)."""
    return today - timedelta(days=rng.randrange(18 * 365, 90 * 365))
