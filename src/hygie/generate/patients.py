"""One chunk of the synthetic patient population, as rows ready to load.

A chunk is a run of consecutive patient ids generated from ``Random(f"{seed}:{index}")``;
ids of the rows it owns come from ranges reserved for the chunk, so chunks can be made
in any order, in parallel, and still give the same data.

Appointments never overlap: a practitioner's day belongs to exactly one chunk (by a
fixed rule on practitioner and day), and the chunk fills that day slot by slot.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hygie import reference
from hygie.billing.service import share_of_act
from hygie.clinical.allergy_check import allergy_concerns_drug
from hygie.generate.plan import EstablishmentPlan, Plan
from hygie.generate.pools import (
    ALLERGENS,
    CONSULTATION_REASONS,
    MUTUELLES,
    REGIMES,
    STAY_REASONS,
    STREET_NAMES,
    TOWNS,
    Pools,
    pools,
)
from hygie.kit.crypto import Keyring
from hygie.kit.identifiers import nir_key
from hygie.kit.text import search_key
from hygie.models import ActSystem, AmcCoverage, AmoCoverage, ClinicalNote, Patient
from hygie.models.types import context_of

PARIS = ZoneInfo("Europe/Paris")
NIR_CONTEXT = context_of(Patient.nir)
INSURED_NIR_CONTEXT = context_of(AmoCoverage.insured_nir)
MEMBER_NUMBER_CONTEXT = context_of(AmcCoverage.member_number)
NOTE_CONTEXT = context_of(ClinicalNote.text)
HISTORY_DAYS = 120  # a few months of past activity
AHEAD_DAYS = 30
SLOT_MINUTES = 10
DAY_START = time(8, 0)
SLOTS_PER_DAY = 64  # 08:00 to 18:40

# Rows a patient may own at most per table: reserves the id range of each chunk.
PER_PATIENT = {
    "amo_coverages": 1,
    "amc_coverages": 1,
    "appointments": 8,
    "appointment_events": 16,
    "encounters": 10,
    "movements": 4,
    "allergies": 2,
    "conditions": 5,
    "clinical_notes": 12,
    "prescriptions": 12,
    "billable_acts": 12,
    "invoices": 12,
    "identity_events": 1,
    "death_declarations": 1,
    "care_team_members": 1,
}

COLUMNS: dict[str, tuple[str, ...]] = {
    "patients": (
        "id",
        "nir",
        "nir_hash",
        "birth_name",
        "birth_first_names",
        "first_name",
        "used_first_name",
        "used_name",
        "sex",
        "birth_date",
        "birth_place_code",
        "identity_status",
        "birth_name_key",
        "first_name_key",
        "used_name_key",
        "address_line",
        "postal_code",
        "city",
        "phone_mobile",
        "phone_home",
        "email",
        "attending_physician_id",
        "state",
        "merged_into_id",
        "possible_duplicate_of_id",
        "created_at",
        "updated_at",
    ),
    "patient_registrations": (
        "patient_id",
        "establishment_id",
        "ipp",
        "registered_at",
        # The patient's search keys and state, copied (models.patient.SEARCH_COPIES).
        "birth_name_key",
        "first_name_key",
        "used_name_key",
        "active",
    ),
    "identity_events": ("id", "patient_id", "at", "kind", "recorded_by_id", "details"),
    "amo_coverages": (
        "id",
        "patient_id",
        "regime_code",
        "fund_code",
        "fund_name",
        "insured_nir",
        "beneficiary",
        "valid_from",
        "valid_until",
    ),
    "amc_coverages": (
        "id",
        "patient_id",
        "organism_number",
        "organism_name",
        "member_number",
        "third_party_payment",
        "valid_from",
        "valid_until",
    ),
    "death_declarations": ("id", "patient_id", "died_at", "place", "declared_by_id", "declared_at"),
    "appointments": (
        "id",
        "patient_id",
        "practitioner_id",
        "establishment_id",
        "department_id",
        "start_at",
        "duration_min",
        "reason",
        "status",
        "created_at",
    ),
    "appointment_events": (
        "id",
        "appointment_id",
        "at",
        "kind",
        "old_start_at",
        "new_start_at",
        "old_status",
        "new_status",
        "note",
        "recorded_by_id",
    ),
    "encounters": (
        "id",
        "patient_id",
        "establishment_id",
        "kind",
        "status",
        "department_id",
        "responsible_id",
        "start_at",
        "end_at",
        "reason",
        "discharge_destination",
    ),
    "movements": ("id", "encounter_id", "department_id", "bed", "start_at", "end_at"),
    "allergies": (
        "id",
        "patient_id",
        "establishment_id",
        "substance",
        "drug_code",
        "reaction",
        "severity",
        "status",
        "recorded_by_id",
        "recorded_at",
    ),
    "conditions": (
        "id",
        "patient_id",
        "establishment_id",
        "code",
        "label",
        "status",
        "onset_date",
        "recorded_by_id",
        "recorded_at",
    ),
    "clinical_notes": (
        "id",
        "patient_id",
        "establishment_id",
        "encounter_id",
        "author_id",
        "kind",
        "written_at",
        "text",
    ),
    "prescriptions": (
        "id",
        "patient_id",
        "establishment_id",
        "encounter_id",
        "prescriber_id",
        "drug_code",
        "drug_name",
        "dose",
        "route",
        "frequency",
        "duration_days",
        "status",
        "prescribed_at",
    ),
    "care_team_members": (
        "id",
        "patient_id",
        "professional_id",
        "establishment_id",
        "role",
        "start_date",
        "end_date",
    ),
    "invoices": (
        "id",
        "number",
        "patient_id",
        "establishment_id",
        "issued_at",
        "total_cents",
        "amo_cents",
        "amc_cents",
        "patient_cents",
        "status",
    ),
    "billable_acts": (
        "id",
        "patient_id",
        "establishment_id",
        "encounter_id",
        "appointment_id",
        "code",
        "system",
        "performed_on",
        "practitioner_id",
        "amount_cents",
        "invoice_id",
    ),
}
# Load order respects foreign keys.
TABLE_ORDER = tuple(COLUMNS)
# Tables whose rows the main process may still patch (to keep NIRs unique across chunks).
PATCHABLE = frozenset({"patients", "amo_coverages"})


@dataclass
class Chunk:
    index: int
    first_patient_id: int
    rows: dict[str, list[tuple[Any, ...]]] = field(default_factory=lambda: {t: [] for t in COLUMNS})
    nirs: list[tuple[int, str]] = field(default_factory=list)  # (row index in patients, NIR)
    # COPY text made by the worker for the tables the main process never patches.
    encoded: dict[str, bytes] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)


def chunk_id_base(table: str, chunk_index: int, chunk_size: int) -> int:
    return chunk_index * chunk_size * PER_PATIENT[table] + 1


def paris_time(day: date, minutes_after_start: int) -> datetime:
    local = datetime.combine(day, DAY_START, tzinfo=PARIS) + timedelta(minutes=minutes_after_start)
    return local.astimezone(UTC)


@dataclass
class _Current:
    """What is known of the patient being made, to keep their record coherent."""

    born: datetime = datetime(1900, 1, 1, tzinfo=UTC)
    death: datetime | None = None
    female: bool = False
    age: int = 0
    amo: tuple[date, date | None] | None = None
    amc: tuple[date, date | None] | None = None
    stays: list[tuple[datetime, datetime | None]] = field(default_factory=list)


def _covers(window: tuple[date, date | None] | None, day: date) -> bool:
    return window is not None and window[0] <= day and (window[1] is None or day <= window[1])


_PREGNANCY_WORDS = ("grossesse", "Accouchement")


def _reason_fits(reason: str, cur: _Current) -> bool:
    if any(word in reason for word in _PREGNANCY_WORDS):
        return cur.female and 15 <= cur.age <= 50
    return True


def _code_fits(code: str, cur: _Current) -> bool:
    """CIM-10 chapters bound to sex or age: pregnancy (O), perinatal (P), and organs."""
    if code.startswith("O"):
        return cur.female and 15 <= cur.age <= 50
    if code.startswith("P"):
        return cur.age < 2
    if code.startswith(("N40", "C61", "N41", "N43", "N44", "N45", "N46", "N47", "N48", "N49")):
        return not cur.female
    if code.startswith(("C53", "C54", "C55", "C56", "N7", "N8", "N9")):
        return cur.female
    return True


class ChunkMaker:
    """Makes one chunk. Create one per chunk; not thread-safe."""

    def __init__(
        self,
        plan: Plan,
        keyring: Keyring,
        *,
        seed: int,
        index: int,
        chunk_size: int,
        chunk_count: int,
        first_patient_id: int,
        count: int,
    ) -> None:
        self.plan = plan
        self.ring = keyring
        self.rng = random.Random(f"{seed}:{index}")
        self.p: Pools = pools()
        self.chunk = Chunk(index=index, first_patient_id=first_patient_id)
        self.count = count
        self.chunk_count = chunk_count
        self.today = plan.reference_date
        # The start of the reference day in Paris: before it is history, from it on the future.
        self.now = datetime.combine(self.today, time(0, 0), tzinfo=PARIS).astimezone(UTC)
        self.cur = _Current()
        self.next_id = {t: chunk_id_base(t, index, chunk_size) for t in PER_PATIENT}
        self.limit = {t: chunk_id_base(t, index + 1, chunk_size) for t in PER_PATIENT}
        self.slots: dict[tuple[int, date], int] = {}
        self.drugs = reference.drugs()
        self.cim10 = reference.cim10_codes()
        self.acts = reference.acts()
        self.invoice_seq = 0

    def _id(self, table: str) -> int:
        value = self.next_id[table]
        if value >= self.limit[table]:  # pragma: no cover - guarded by the per-patient caps
            raise RuntimeError(f"chunk {self.chunk.index} ran out of ids for {table}")
        self.next_id[table] = value + 1
        return value

    def _add(self, table: str, row: tuple[Any, ...]) -> None:
        self.chunk.rows[table].append(row)

    def make(self) -> Chunk:
        for offset in range(self.count):
            self._patient(self.chunk.first_patient_id + offset)
        return self.chunk

    # --- identity -----------------------------------------------------------------------
    def _patient(self, pid: int) -> None:
        rng, p = self.rng, self.p
        female = rng.random() < 0.52
        age = self._age()
        birth = self.today - timedelta(days=age * 365 + rng.randrange(365))
        firsts = [
            rng.choice(p.female_first if female else p.male_first)
            for _ in range(rng.choice((1, 1, 2, 2, 3)))
        ]
        firsts = list(dict.fromkeys(firsts))
        birth_name = rng.choice(p.last_names)
        if rng.random() < 0.04:
            birth_name = f"{birth_name}-{rng.choice(p.last_names)}"
        birth_name = birth_name.upper()
        used = (
            rng.choice(p.last_names).upper()
            if female and age >= 22 and rng.random() < 0.45
            else None
        )
        place, nir_place = self._birthplace()
        has_nir = rng.random() < 0.96
        nir = self._nir(female, birth, nir_place) if has_nir else None
        status = self._identity_status(has_nir)
        town, postal = rng.choice(TOWNS)
        est = self._home(pid)
        gp = rng.choice(self.plan.gps) if rng.random() < 0.85 else None
        born_at = datetime.combine(birth, time(8, 0), tzinfo=UTC)
        created = max(self.now - timedelta(days=rng.randint(HISTORY_DAYS, 3000)), born_at)
        death = self._maybe_death(age, born_at)
        self.cur = _Current(born=born_at, death=death, female=female, age=age)
        row_index = len(self.chunk.rows["patients"])
        self._add(
            "patients",
            (
                pid,
                self.ring.encrypt(nir, NIR_CONTEXT) if nir else None,
                self.ring.blind_index(nir, NIR_CONTEXT) if nir else None,
                birth_name,
                " ".join(firsts),
                firsts[0],
                None,
                used,
                "female" if female else "male",
                birth,
                place,
                status,
                search_key(birth_name),
                search_key(firsts[0]),
                search_key(used) if used else None,
                f"{rng.randint(1, 180)} {rng.choice(p.street_prefixes)} {rng.choice(STREET_NAMES)}",
                postal,
                town,
                f"0{rng.choice('67')}{rng.randrange(10**8):08d}" if rng.random() < 0.85 else None,
                f"01{rng.randrange(10**8):08d}" if rng.random() < 0.3 else None,
                f"{search_key(firsts[0]).lower()}.{search_key(used or birth_name).lower().replace(' ', '')}{rng.randint(1, 99)}@example.{rng.choice(('com', 'org', 'net'))}"
                if rng.random() < 0.6
                else None,
                gp,
                "active",
                None,
                None,
                created,
                created,
            ),
        )
        if nir:
            self.chunk.nirs.append((row_index, nir))
        ipp = f"{pid:010d}"
        keys = (search_key(birth_name), search_key(firsts[0]), search_key(used) if used else None)
        self._add("patient_registrations", (pid, est.id, ipp, created, *keys, True))
        second = None
        if len(self.plan.establishments) > 1 and rng.random() < 0.08:
            second = rng.choice([e for e in self.plan.establishments if e.id != est.id])
            self._add(
                "patient_registrations",
                (pid, second.id, ipp, created + timedelta(days=rng.randint(1, 60)), *keys, True),
            )
        self._add(
            "identity_events",
            (self._id("identity_events"), pid, created, "created", None, '{"generated": true}'),
        )
        self._coverage(pid, nir, age)
        allergies = self._allergies(pid, est)
        self._conditions(pid, est, age, birth)
        sites = [est] + ([second] if second else [])
        self._care(pid, sites, allergies, death)
        if death is not None:
            physician = rng.choice(est.physicians)
            self._add(
                "death_declarations",
                (
                    self._id("death_declarations"),
                    pid,
                    death,
                    "Domicile" if rng.random() < 0.4 else "Établissement de soins",
                    physician,
                    death + timedelta(hours=rng.randint(1, 12)),
                ),
            )
        if rng.random() < 0.05:
            self._add(
                "care_team_members",
                (
                    self._id("care_team_members"),
                    pid,
                    rng.choice(est.physicians),
                    est.id,
                    "referent",
                    self.today - timedelta(days=rng.randint(10, 700)),
                    None,
                ),
            )

    def _age(self) -> int:
        r = self.rng.random()
        lo, hi = (
            (0, 17)
            if r < 0.18
            else (18, 39)
            if r < 0.43
            else (40, 64)
            if r < 0.75
            else (65, 84)
            if r < 0.95
            else (85, 99)
        )
        return self.rng.randint(lo, hi)

    def _birthplace(self) -> tuple[str, tuple[str, str]]:
        """(INSEE code, (NIR department, NIR commune)) of a birth place."""
        if self.rng.random() < 0.12:
            code = self.rng.choice(self.p.countries)
            return code, ("99", code[2:])
        code = self.rng.choice(self.p.birthplaces)
        if code.startswith(("97", "98")):
            return code, (code[:3], code[3:])
        return code, (code[:2], code[2:])

    def _nir(self, female: bool, birth: date, place: tuple[str, str]) -> str:
        month = f"{birth.month:02d}" if self.rng.random() > 0.003 else "99"
        body = f"{2 if female else 1}{birth.year % 100:02d}{month}{place[0]}{place[1]}{self.rng.randint(1, 999):03d}"
        return f"{body}{nir_key(body):02d}"

    def _identity_status(self, has_nir: bool) -> str:
        r = self.rng.random()
        if not has_nir:
            return "validated" if r < 0.5 else "provisional"
        return (
            "qualified"
            if r < 0.65
            else "validated"
            if r < 0.8
            else "retrieved"
            if r < 0.9
            else "provisional"
        )

    def _home(self, pid: int) -> EstablishmentPlan:
        return self.rng.choice(self.plan.establishments)

    def _fitting(self, reasons: tuple[str, ...]) -> tuple[str, ...]:
        """Reasons that fit the patient: no pregnancy or delivery for men or children."""
        return tuple(r for r in reasons if _reason_fits(r, self.cur)) or reasons

    def _maybe_death(self, age: int, born_at: datetime) -> datetime | None:
        if age >= 70 and self.rng.random() < 0.02 + (age - 70) * 0.002:
            died = self.now - timedelta(
                days=self.rng.randint(1, HISTORY_DAYS), minutes=self.rng.randint(0, 1440)
            )
            return max(died, born_at)
        return None

    # --- coverage -----------------------------------------------------------------------
    def _coverage(self, pid: int, nir: str | None, age: int) -> None:
        rng = self.rng
        if nir is None or rng.random() < 0.03:
            return
        regime = rng.choices([r for r, _ in REGIMES], weights=[w for _, w in REGIMES])[0]
        dependant = age < 18
        insured = self._adult_nir() if dependant else nir
        start = max(self.today - timedelta(days=rng.randint(0, 700)), self.cur.born.date())
        until = start + timedelta(days=365 + rng.randint(0, 365)) if rng.random() < 0.9 else None
        self.cur.amo = (start, until)
        dep = rng.choice(("75", "92", "93", "94", "78", "91", "95", "77"))
        self._add(
            "amo_coverages",
            (
                self._id("amo_coverages"),
                pid,
                regime,
                f"{dep}1",
                f"CPAM {dep}",
                self.ring.encrypt(insured, INSURED_NIR_CONTEXT),
                "dependant" if dependant else "insured",
                start,
                until,
            ),
        )
        if rng.random() < 0.72:
            name, number = rng.choice(MUTUELLES)
            amc_start = start + timedelta(days=rng.randint(0, 60))
            amc_until = amc_start + timedelta(days=365) if rng.random() < 0.8 else None
            self.cur.amc = (amc_start, amc_until)
            self._add(
                "amc_coverages",
                (
                    self._id("amc_coverages"),
                    pid,
                    number,
                    name,
                    self.ring.encrypt(f"{rng.randrange(10**10):010d}", MEMBER_NUMBER_CONTEXT),
                    rng.random() < 0.9,
                    amc_start,
                    amc_until,
                ),
            )

    def _adult_nir(self) -> str:
        born = self.today - timedelta(days=self.rng.randint(25, 55) * 365)
        return self._nir(self.rng.random() < 0.5, born, self._birthplace()[1])

    # --- clinical -----------------------------------------------------------------------
    def _allergies(self, pid: int, est: EstablishmentPlan) -> list[tuple[str, str | None]]:
        found: list[tuple[str, str | None]] = []
        if self.rng.random() >= 0.22:
            return found
        for substance, _name, reaction in self.rng.sample(ALLERGENS, self.rng.choice((1, 1, 2))):
            code = self.p.allergen_drug_codes.get(substance)
            found.append((substance, code))
            self._add(
                "allergies",
                (
                    self._id("allergies"),
                    pid,
                    est.id,
                    substance,
                    code,
                    reaction,
                    self.rng.choice(("mild", "moderate", "moderate", "severe")),
                    "active",
                    self.rng.choice(est.physicians),
                    self._within_life(self.now - timedelta(days=self.rng.randint(1, 2000))),
                ),
            )
        return found

    def _within_life(self, moment: datetime) -> datetime:
        """``moment`` moved into the patient's life (after birth, before death)."""
        end = self.cur.death or self.now
        return min(max(moment, self.cur.born), end)

    def _conditions(self, pid: int, est: EstablishmentPlan, age: int, birth: date) -> None:
        count = min(PER_PATIENT["conditions"], int(self.rng.random() * (1 + age / 20)))
        fitting = [c for c in self.p.cim10 if _code_fits(c, self.cur)]
        for code in self.rng.sample(fitting, count):
            last_day = (self.cur.death or self.now).date()
            onset = birth + timedelta(days=self.rng.randint(0, max(0, (last_day - birth).days)))
            noted = self.now - timedelta(days=self.rng.randint(1, 1500))
            noted = self._within_life(max(noted, datetime.combine(onset, time(9), tzinfo=UTC)))
            self._add(
                "conditions",
                (
                    self._id("conditions"),
                    pid,
                    est.id,
                    code,
                    self.cim10[code].label,
                    "active" if self.rng.random() < 0.8 else "resolved",
                    onset,
                    self.rng.choice(est.physicians),
                    noted,
                ),
            )

    def _drug_for(self, allergies: list[tuple[str, str | None]], pool: tuple[str, ...]) -> str:
        for _ in range(10):
            code = self.rng.choice(pool)
            drug = self.drugs[code]
            if not any(
                allergy_concerns_drug(substance=s, allergen_drug_code=c, drug=drug)
                for s, c in allergies
            ):
                return code
        return "D0001" if "D0001" in self.drugs else pool[0]

    # --- care: appointments, visits, stays, notes, prescriptions, billing ---------------
    def _care(
        self,
        pid: int,
        sites: list[EstablishmentPlan],
        allergies: list[tuple[str, str | None]],
        death: datetime | None,
    ) -> None:
        rng = self.rng
        wanted = min(PER_PATIENT["appointments"], int(rng.expovariate(1 / 1.6)))
        stay = rng.random() < 0.06 and death is None
        if stay:  # decided first: no consultation is held during the stay
            self._stay(pid, sites[0], allergies)
        for _ in range(wanted):
            est = sites[0] if rng.random() < 0.85 or len(sites) == 1 else sites[1]
            self._appointment(pid, est, allergies, death)

    def _book_slot(self, est: EstablishmentPlan, duration: int) -> tuple[int, datetime] | None:
        """A free slot of a practitioner whose day belongs to this chunk, or None."""
        units = -(-duration // SLOT_MINUTES)
        for _ in range(12):
            day = self.today + timedelta(days=self.rng.randint(-HISTORY_DAYS, AHEAD_DAYS))
            if day.weekday() >= 5:
                continue
            ordinal = day.toordinal()
            mine = [
                p
                for i, p in enumerate(est.physicians)
                if (i * 7 + ordinal) % self.chunk_count == self.chunk.index % self.chunk_count
            ]
            if not mine:
                continue
            practitioner = self.rng.choice(mine)
            used = self.slots.get((practitioner, day), 0)
            if used + units > SLOTS_PER_DAY:
                continue
            self.slots[(practitioner, day)] = used + units
            return practitioner, paris_time(day, used * SLOT_MINUTES)
        return None

    def _appointment(
        self,
        pid: int,
        est: EstablishmentPlan,
        allergies: list[tuple[str, str | None]],
        death: datetime | None,
    ) -> None:
        rng = self.rng
        duration = rng.choice((15, 20, 20, 30, 30, 45))
        slot = self._book_slot(est, duration)
        if slot is None:
            return
        practitioner, start = slot
        if start < self.cur.born or (death is not None and start > death):
            return
        if any(begin <= start <= (end or self.now) for begin, end in self.cur.stays):
            return
        past = start + timedelta(minutes=duration) <= self.now
        r = rng.random()
        status = (
            ("done" if r < 0.85 else "no_show" if r < 0.9 else "cancelled")
            if past
            else ("booked" if r < 0.92 else "cancelled")
        )
        booked_at = start - timedelta(days=rng.randint(1, 60), minutes=rng.randint(0, 600))
        reason = rng.choice(self._fitting(CONSULTATION_REASONS))
        aid = self._id("appointments")
        self._add(
            "appointments",
            (
                aid,
                pid,
                practitioner,
                est.id,
                est.consultation_dept,
                start,
                duration,
                reason,
                status,
                booked_at,
            ),
        )
        self._add(
            "appointment_events",
            (
                self._id("appointment_events"),
                aid,
                booked_at,
                "booked",
                None,
                start,
                None,
                "booked",
                None,
                None,
            ),
        )
        if status != "booked":
            when = (
                min(start + timedelta(minutes=duration), self.now)
                if status != "cancelled"
                else booked_at + (start - booked_at) / 2
            )
            self._add(
                "appointment_events",
                (
                    self._id("appointment_events"),
                    aid,
                    when,
                    "status",
                    None,
                    None,
                    "booked",
                    status,
                    None,
                    None,
                ),
            )
        if status != "done":
            return
        eid = self._id("encounters")
        end = start + timedelta(minutes=duration)
        self._add(
            "encounters",
            (
                eid,
                pid,
                est.id,
                "outpatient",
                "finished",
                est.consultation_dept,
                practitioner,
                start,
                end,
                reason,
                None,
            ),
        )
        if rng.random() < 0.7:
            self._note(pid, est, eid, practitioner, "consultation", end, reason)
        if rng.random() < 0.5:
            for _ in range(rng.choice((1, 1, 2))):
                self._prescription(pid, est, eid, practitioner, end, allergies, self.p.drugs_oral)
        code = rng.choice(self.p.ngap_consultations)
        self._bill(pid, est, eid, aid, practitioner, start.date(), [code])

    def _stay(
        self, pid: int, est: EstablishmentPlan, allergies: list[tuple[str, str | None]]
    ) -> None:
        rng = self.rng
        admitted = self.now - timedelta(days=rng.randint(0, HISTORY_DAYS), hours=rng.randint(0, 23))
        length = timedelta(days=rng.choice((1, 2, 3, 3, 4, 5, 7, 10, 14)), hours=rng.randint(0, 8))
        admitted = max(admitted, self.cur.born)
        discharged = admitted + length if admitted + length < self.now else None
        self.cur.stays.append((admitted, discharged))
        dept = rng.choice(est.ward_depts)
        responsible = rng.choice(est.physicians)
        reason = rng.choice(self._fitting(STAY_REASONS))
        eid = self._id("encounters")
        self._add(
            "encounters",
            (
                eid,
                pid,
                est.id,
                "inpatient",
                "finished" if discharged else "in_progress",
                dept,
                responsible,
                admitted,
                discharged,
                reason,
                "home" if discharged else None,
            ),
        )
        current, since = dept, admitted
        if len(est.ward_depts) > 1 and rng.random() < 0.25:
            moved = admitted + (discharged - admitted if discharged else self.now - admitted) / 2
            self._add("movements", (self._id("movements"), eid, dept, None, admitted, moved))
            current = rng.choice([d for d in est.ward_depts if d != dept])
            since = moved
        self._add("movements", (self._id("movements"), eid, current, None, since, discharged))
        self._note(pid, est, eid, responsible, "admission", admitted + timedelta(hours=2), reason)
        for _ in range(rng.randint(1, 3)):
            self._prescription(
                pid,
                est,
                eid,
                responsible,
                admitted + timedelta(hours=3),
                allergies,
                self.p.drugs_hospital,
            )
        if discharged:
            self._note(pid, est, eid, responsible, "discharge", discharged, reason)
            codes = (
                [rng.choice(self.p.ccam_acts) for _ in range(rng.choice((1, 2)))]
                if self.p.ccam_acts
                else []
            )
            if codes:
                self._bill(pid, est, eid, None, responsible, discharged.date(), codes)

    def _note(
        self,
        pid: int,
        est: EstablishmentPlan,
        eid: int,
        author: int,
        kind: str,
        at: datetime,
        reason: str,
    ) -> None:
        rng = self.rng
        text = (
            f"Motif : {reason}. TA {rng.randint(10, 16)}/{rng.randint(6, 9)}, FC {rng.randint(55, 100)}/min, "
            f"T° {rng.choice(('36,8', '37,1', '37,5', '38,2'))} °C. "
            + rng.choice(
                (
                    "Examen clinique sans particularité.",
                    "Abdomen souple, indolore.",
                    "Auscultation pulmonaire : crépitants à la base droite.",
                    "Bon état général.",
                    "Patient(e) fatigué(e), perte de poids de 3 kg en deux mois.",
                )
            )
            + " "
            + rng.choice(
                (
                    "Poursuite du traitement.",
                    "Bilan biologique demandé.",
                    "Revoir dans un mois.",
                    "Adressé(e) au spécialiste.",
                )
            )
        )
        self._add(
            "clinical_notes",
            (
                self._id("clinical_notes"),
                pid,
                est.id,
                eid,
                author,
                kind,
                at,
                self.ring.encrypt(text, NOTE_CONTEXT),
            ),
        )

    def _prescription(
        self,
        pid: int,
        est: EstablishmentPlan,
        eid: int,
        prescriber: int,
        at: datetime,
        allergies: list[tuple[str, str | None]],
        pool: tuple[str, ...],
    ) -> None:
        if not pool:
            return
        rng = self.rng
        drug = self.drugs[self._drug_for(allergies, pool)]
        days = rng.choice((5, 7, 10, 30, 90))
        running = at + timedelta(days=days) > self.now and self.cur.death is None
        status = "active" if running else "completed"
        self._add(
            "prescriptions",
            (
                self._id("prescriptions"),
                pid,
                est.id,
                eid,
                prescriber,
                drug.code,
                drug.name,
                rng.choice(("1 comprimé", "2 comprimés", "1 gélule", "1 dose", "1 ampoule"))
                if drug.route == "oral"
                else "1 dose",
                drug.route,
                rng.choice(
                    (
                        "1 fois par jour",
                        "2 fois par jour",
                        "3 fois par jour",
                        "le soir",
                        "si douleur, max 4 par jour",
                    )
                ),
                days,
                status,
                at,
            ),
        )

    def _bill(
        self,
        pid: int,
        est: EstablishmentPlan,
        eid: int,
        aid: int | None,
        practitioner: int,
        performed: date,
        codes: list[str],
    ) -> None:
        rng = self.rng
        invoice_id = self._id("invoices")
        total = amo = amc = 0
        amo_valid = _covers(self.cur.amo, performed)
        amc_valid = _covers(self.cur.amc, performed)
        for code in codes:
            act = self.acts[code]
            cents = int(act.amount_eur * 100)
            a, c, _ = share_of_act(
                cents, ActSystem(act.system), amo_valid=amo_valid, amc_valid=amc_valid
            )
            total, amo, amc = total + cents, amo + a, amc + c
            self._add(
                "billable_acts",
                (
                    self._id("billable_acts"),
                    pid,
                    est.id,
                    eid,
                    aid,
                    act.code,
                    act.system,
                    performed,
                    practitioner,
                    cents,
                    invoice_id,
                ),
            )
        issued = datetime.combine(performed, time(18, 0), tzinfo=UTC)
        number = f"F{est.finess}-{performed.year}-{invoice_id:09d}"
        status = (
            "paid" if issued < self.now - timedelta(days=30) or rng.random() < 0.5 else "issued"
        )
        self.chunk.rows["invoices"].append(
            (invoice_id, number, pid, est.id, issued, total, amo, amc, total - amo - amc, status)
        )
