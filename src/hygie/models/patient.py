"""The patient identity (INS traits), contact, coverage, death and identity history."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
    event,
    inspect,
    text,
    true,
    update,
)
from sqlalchemy.orm import Mapped, Session, mapped_column
from sqlalchemy.orm.attributes import set_committed_value

from hygie.models.base import (
    Base,
    Beneficiary,
    IdentityStatus,
    PatientState,
    Sex,
    enum_column,
    utcnow,
)
from hygie.models.types import EncryptedText, UTCDateTime, search_key_type


class Patient(Base):
    """One patient identity of the group.

    The NIR is stored encrypted; ``nir_hash`` (a keyed hash) serves exact look-ups and the
    uniqueness rule. Names are kept as typed and as upper-case ASCII search keys."""

    __tablename__ = "patients"
    __table_args__ = (
        Index("ix_patients_birth_name_key_birth_date", "birth_name_key", "birth_date"),
        Index("ix_patients_used_name_key", "used_name_key"),
        Index("ix_patients_birth_date_sex", "birth_date", "sex"),
        # The id is taken from the sequence before the INSERT rather than read back with
        # RETURNING: under PostgreSQL row-level security a new identity is not readable
        # until its first file (patient_registrations) is written (migration 0004).
        {"implicit_returning": False},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # INS: the matricule (NIR) and the five birth traits.
    nir: Mapped[str | None] = mapped_column(EncryptedText("patients.nir"))
    nir_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    birth_name: Mapped[str] = mapped_column(String(100))
    birth_first_names: Mapped[str] = mapped_column(String(200))  # ordered, space separated
    first_name: Mapped[str] = mapped_column(String(100))  # the first birth first name
    used_first_name: Mapped[str | None] = mapped_column(String(100))
    used_name: Mapped[str | None] = mapped_column(String(100))
    sex: Mapped[Sex] = mapped_column(enum_column(Sex, "sex"))
    birth_date: Mapped[date] = mapped_column(Date)
    birth_place_code: Mapped[str | None] = mapped_column(String(5))
    identity_status: Mapped[IdentityStatus] = mapped_column(
        enum_column(IdentityStatus, "identity_status"), default=IdentityStatus.PROVISIONAL
    )
    birth_name_key: Mapped[str] = mapped_column(search_key_type(100))
    first_name_key: Mapped[str] = mapped_column(search_key_type(100))
    used_name_key: Mapped[str | None] = mapped_column(search_key_type(100))
    # Contact.
    address_line: Mapped[str | None] = mapped_column(String(200))
    postal_code: Mapped[str | None] = mapped_column(String(10))
    city: Mapped[str | None] = mapped_column(String(100))
    phone_mobile: Mapped[str | None] = mapped_column(String(20))
    phone_home: Mapped[str | None] = mapped_column(String(20))
    email: Mapped[str | None] = mapped_column(String(200))
    attending_physician_id: Mapped[int | None] = mapped_column(
        ForeignKey("professionals.id"), index=True
    )
    # Life cycle: a merged identity stays, pointing at the one that absorbed it.
    state: Mapped[PatientState] = mapped_column(
        enum_column(PatientState, "patient_state"), default=PatientState.ACTIVE
    )
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id"))
    possible_duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PatientRegistration(Base):
    """A patient's file in one establishment, with its local number (IPP)."""

    __tablename__ = "patient_registrations"
    __table_args__ = (
        UniqueConstraint("establishment_id", "ipp"),
        # A name search reads the matches of its establishments from these alone
        # (migration 0007): active identities only, in the order a page lists them.
        *(
            Index(
                f"ix_patient_registrations_{name}_search",
                "establishment_id",
                *columns,
                postgresql_where=text("active"),
                sqlite_where=text("active"),
            )
            for name, columns in (
                ("birth_name", ("birth_name_key", "first_name_key", "patient_id")),
                ("used_name", ("used_name_key", "first_name_key", "patient_id")),
                ("first_name", ("first_name_key", "patient_id")),
            )
        ),
    )

    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), primary_key=True)
    establishment_id: Mapped[int] = mapped_column(
        ForeignKey("establishments.id"), primary_key=True, index=True
    )
    ipp: Mapped[str] = mapped_column(String(20))
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Copies of the patient's search keys and state (SEARCH_COPIES), kept by
    # ``_copy_search_keys``: the establishment's index of its patients.
    birth_name_key: Mapped[str] = mapped_column(search_key_type(100))
    first_name_key: Mapped[str] = mapped_column(search_key_type(100))
    used_name_key: Mapped[str | None] = mapped_column(search_key_type(100))
    active: Mapped[bool] = mapped_column(Boolean, server_default=true())


# What each file copies from its patient (the patient's attribute -> the file's value).
SEARCH_COPIES: dict[str, Callable[[Patient], object]] = {
    "birth_name_key": lambda p: p.birth_name_key,
    "first_name_key": lambda p: p.first_name_key,
    "used_name_key": lambda p: p.used_name_key,
    "active": lambda p: p.state == PatientState.ACTIVE,
}
_SOURCES = ("birth_name_key", "first_name_key", "used_name_key", "state")


@event.listens_for(Session, "before_flush")
def _copy_search_keys(session: Session, _context: Any, _instances: Any) -> None:
    """Keep each file's copies (SEARCH_COPIES) equal to its patient's, whatever writes them
    through the ORM: a new file takes its patient's; a patient whose names or state changed
    passes them to all its files. (Bulk writers that go around the ORM copy them
    themselves.)"""
    for obj in list(session.new):
        if isinstance(obj, PatientRegistration):
            patient = session.get(Patient, obj.patient_id)
            if patient is not None:
                for name, value in SEARCH_COPIES.items():
                    setattr(obj, name, value(patient))
    for obj in list(session.dirty):
        if isinstance(obj, Patient) and obj.id is not None:
            state = inspect(obj)
            if any(state.attrs[name].history.has_changes() for name in _SOURCES):
                _pass_to_files(session, obj)


_DECLARE_SCOPE = text("SELECT set_config('hygie.establishments', :scope, true)")
_CURRENT_SCOPE = text("SELECT current_setting('hygie.establishments', true)")


def _pass_to_files(session: Session, patient: Patient) -> None:
    """Give every file of ``patient``, in every establishment, the patient's new copies.

    The change was decided by the gate on the actor's own establishments; a file in another
    (hidden from this transaction by row-level security) must not keep the former name, or
    that establishment could no longer find its patient by it. On PostgreSQL this one
    statement runs with the group's scope, then the transaction's own is declared again:
    it writes only the copies, and reads nothing back."""
    values = {name: value(patient) for name, value in SEARCH_COPIES.items()}
    statement = (
        update(PatientRegistration)
        .where(PatientRegistration.patient_id == patient.id)
        .values(**values)
    )
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        own = conn.execute(_CURRENT_SCOPE).scalar()
        conn.execute(_DECLARE_SCOPE, {"scope": "*"})
        conn.execute(statement)
        conn.execute(_DECLARE_SCOPE, {"scope": own or ""})
    else:
        conn.execute(statement)
    # Files this session has loaded hold the new values as stored, not as pending changes.
    for obj in list(session.identity_map.values()):
        if isinstance(obj, PatientRegistration) and obj.patient_id == patient.id:
            for name, value in values.items():
                set_committed_value(obj, name, value)


class AmoCoverage(Base):
    """Statutory coverage (assurance maladie obligatoire), as read from the carte Vitale."""

    __tablename__ = "amo_coverages"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    regime_code: Mapped[str] = mapped_column(String(2))
    fund_code: Mapped[str] = mapped_column(String(3))
    fund_name: Mapped[str] = mapped_column(String(100))
    insured_nir: Mapped[str] = mapped_column(EncryptedText("amo_coverages.insured_nir"))
    beneficiary: Mapped[Beneficiary] = mapped_column(enum_column(Beneficiary, "beneficiary"))
    valid_from: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date)


class AmcCoverage(Base):
    """Complementary coverage (mutuelle)."""

    __tablename__ = "amc_coverages"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    organism_number: Mapped[str] = mapped_column(String(10))
    organism_name: Mapped[str] = mapped_column(String(100))
    member_number: Mapped[str] = mapped_column(EncryptedText("amc_coverages.member_number"))
    third_party_payment: Mapped[bool] = mapped_column(Boolean, default=True)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date)


class DeathDeclaration(Base):
    __tablename__ = "death_declarations"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), unique=True)
    died_at: Mapped[datetime] = mapped_column(UTCDateTime)
    place: Mapped[str] = mapped_column(String(200))
    declared_by_id: Mapped[int] = mapped_column(ForeignKey("professionals.id"))
    declared_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class IdentityEvent(Base):
    """The history of an identity: creation, changes of traits or status, merges, death.

    Changed encrypted values are recorded as changed, never with their content."""

    __tablename__ = "identity_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    kind: Mapped[str] = mapped_column(String(30))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class PatientMerge(Base):
    """Two identities found to be the same person: ``merged`` was folded into ``survivor``.
    The ids of every row moved are kept so the merge can be reviewed or undone."""

    __tablename__ = "patient_merges"

    id: Mapped[int] = mapped_column(primary_key=True)
    survivor_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    merged_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), unique=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    reason: Mapped[str] = mapped_column(String(500))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    moved: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
