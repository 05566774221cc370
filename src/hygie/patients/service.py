"""Patient identities: creation with duplicate detection, coverage, death, merges.

Every function validates all of its input before it writes anything, and raises a
:mod:`hygie.errors` error with a message for the person who typed it."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from hygie.errors import ConflictError, ValidationError
from hygie.kit import clock
from hygie.kit.checks import check_day, check_moment
from hygie.kit.crypto import current_keyring
from hygie.kit.identifiers import parse_nir
from hygie.kit.text import (
    clean_email,
    clean_name,
    clean_phone,
    clean_postal_code,
    clean_text,
    search_key,
)
from hygie.kit.time import local_date
from hygie.models import (
    AmcCoverage,
    AmoCoverage,
    Beneficiary,
    DeathDeclaration,
    Establishment,
    IdentityEvent,
    IdentityStatus,
    Patient,
    PatientMerge,
    PatientRegistration,
    PatientState,
    Profession,
    Professional,
)
from hygie.models.types import context_of
from hygie.patients import rules
from hygie.storage import care as care_store
from hygie.storage import common
from hygie.storage import patients as store

NIR_CONTEXT = context_of(Patient.nir)


def name_key(name: str) -> str:
    """The search key of a name, cut to its column's length (normalising may lengthen it)."""
    return search_key(name)[:100]


def nir_lookup_hash(nir: str) -> str:
    """The keyed hash under which a NIR is looked up (checked and normalised first, so that
    a NIR typed with spaces finds its patient)."""
    return current_keyring().blind_index(parse_nir(nir).value, NIR_CONTEXT)


CONTACT_FIELDS = ("address_line", "postal_code", "city", "phone_mobile", "phone_home", "email")


@dataclass(frozen=True)
class Contact:
    address_line: str | None = None
    postal_code: str | None = None
    city: str | None = None
    phone_mobile: str | None = None
    phone_home: str | None = None
    email: str | None = None

    def cleaned(self) -> Contact:
        return Contact(
            address_line=_opt(
                self.address_line, lambda v: clean_text(v, field="address_line", max_length=200)
            ),
            postal_code=_opt(self.postal_code, lambda v: clean_postal_code(v, field="postal_code")),
            city=_opt(self.city, lambda v: clean_text(v, field="city", max_length=100)),
            phone_mobile=_opt(self.phone_mobile, lambda v: clean_phone(v, field="phone_mobile")),
            phone_home=_opt(self.phone_home, lambda v: clean_phone(v, field="phone_home")),
            email=_opt(self.email, lambda v: clean_email(v, field="email")),
        )


def _opt(value: str | None, check: Callable[[str], str]) -> str | None:
    """``check(value)``, or None for a missing or blank value."""
    if value is None or not value.strip():
        return None
    return check(value)


@dataclass(frozen=True)
class PatientCreated:
    patient: Patient
    ipp: str
    possible_duplicates: list[int] = field(default_factory=list)


def create_patient(
    session: Session,
    *,
    establishment_id: int,
    birth_name: str,
    birth_first_names: Sequence[str],
    sex: str,
    birth_date: date,
    nir: str | None = None,
    birth_place_code: str | None = None,
    used_name: str | None = None,
    used_first_name: str | None = None,
    identity_status: str = IdentityStatus.PROVISIONAL.value,
    contact: Contact | None = None,
    attending_physician_id: int | None = None,
    recorded_by_id: int | None = None,
    today: date | None = None,
    ipp: str | None = None,
) -> PatientCreated:
    """Create an identity and its file in one establishment.

    The same NIR twice is refused; an identity with the same birth name, first name and
    birth date as an existing one is created but flagged as a probable duplicate. ``ipp``:
    the number the establishment's admission system gave the file (an interface), instead
    of one Hygie makes."""
    today = today or local_date(clock.now())
    check_day(birth_date, field="birth_date")
    common.get(
        session, Establishment, establishment_id, what="establishment", field="establishment_id"
    )
    name = clean_name(birth_name, field="birth_name")
    first_names = rules.clean_first_names(birth_first_names)
    sex_value = rules.parse_sex(sex)
    rules.check_birth_date(birth_date, today)
    status = rules.parse_status(identity_status)
    parsed_nir = rules.parse_nir_for(nir, sex=sex_value, birth_date=birth_date) if nir else None
    place = rules.check_birth_place(birth_place_code) if birth_place_code else None
    rules.check_status_allows(
        status, has_nir=parsed_nir is not None, has_birth_place=place is not None
    )
    if parsed_nir is not None and place is not None:
        rules.check_nir_matches_birth_place(parsed_nir, place)
    used = clean_name(used_name, field="used_name") if used_name else None
    used_first = clean_name(used_first_name, field="used_first_name") if used_first_name else None
    details = (contact or Contact()).cleaned()
    if attending_physician_id is not None:
        _check_physician(session, attending_physician_id, field_name="attending_physician_id")
    given_ipp = check_ipp(session, establishment_id=establishment_id, ipp=ipp) if ipp else None

    nir_hash = nir_lookup_hash(parsed_nir.value) if parsed_nir else None
    if nir_hash is not None:
        existing = store.by_nir_hash(session, nir_hash)
        if existing is not None:
            raise ConflictError(
                f"an identity with this NIR already exists (patient #{existing.id})", field="nir"
            )
    duplicates = [
        p.id
        for p in store.with_same_birth_traits(
            session,
            birth_name_key=name_key(name),
            first_name_key=name_key(first_names[0]),
            birth_date=birth_date,
        )
    ]
    patient = common.add(
        session,
        Patient(
            nir=parsed_nir.value if parsed_nir else None,
            nir_hash=nir_hash,
            birth_name=name,
            birth_first_names=" ".join(first_names),
            first_name=first_names[0],
            used_first_name=used_first,
            used_name=used,
            sex=sex_value,
            birth_date=birth_date,
            birth_place_code=place,
            identity_status=status,
            birth_name_key=name_key(name),
            first_name_key=name_key(first_names[0]),
            used_name_key=name_key(used) if used else None,
            address_line=details.address_line,
            postal_code=details.postal_code,
            city=details.city,
            phone_mobile=details.phone_mobile,
            phone_home=details.phone_home,
            email=details.email,
            attending_physician_id=attending_physician_id,
            possible_duplicate_of_id=duplicates[0] if duplicates else None,
        ),
    )
    ipp = _register(session, patient.id, establishment_id, given_ipp)
    _event(
        session,
        patient.id,
        "created",
        recorded_by_id,
        {
            "identity_status": status.value,
            "possible_duplicates": duplicates,
            "establishment_id": establishment_id,
        },
    )
    return PatientCreated(patient=patient, ipp=ipp, possible_duplicates=duplicates)


def register_in_establishment(
    session: Session, *, patient_id: int, establishment_id: int, recorded_by_id: int | None = None
) -> str:
    """Open the patient's file in another establishment of the group; returns its IPP."""
    patient = _active_patient(session, patient_id)
    common.get(
        session, Establishment, establishment_id, what="establishment", field="establishment_id"
    )
    existing = store.registration(session, patient.id, establishment_id)
    if existing is not None:
        return existing.ipp
    ipp = _register(session, patient.id, establishment_id)
    _event(
        session, patient.id, "registered", recorded_by_id, {"establishment_id": establishment_id}
    )
    return ipp


def ensure_registered(session: Session, *, patient_id: int, establishment_id: int) -> str:
    """Open the patient's file in the establishment if it has none (as reception does when
    booking or admitting); returns its IPP."""
    existing = store.registration(session, patient_id, establishment_id)
    return existing.ipp if existing else _register(session, patient_id, establishment_id)


def check_registered(session: Session, *, patient_id: int, establishment_id: int) -> None:
    """Clinical and billing entries belong to a file the patient has in the establishment."""
    if store.registration(session, patient_id, establishment_id) is None:
        raise ValidationError(
            "the patient has no file in this establishment", field="establishment_id"
        )


def _register(
    session: Session, patient_id: int, establishment_id: int, ipp: str | None = None
) -> str:
    ipp = ipp or f"{patient_id:010d}"
    common.add(
        session,
        PatientRegistration(patient_id=patient_id, establishment_id=establishment_id, ipp=ipp),
    )
    return ipp


def update_contact(
    session: Session, *, patient_id: int, contact: Contact, recorded_by_id: int | None = None
) -> Patient:
    """Replace the patient's contact details (address, phones, e-mail) with ``contact``;
    the names of the fields that changed go to the identity history, not their values."""
    patient = _active_patient(session, patient_id, lock=True)
    details = contact.cleaned()
    changed = [name for name in CONTACT_FIELDS if getattr(patient, name) != getattr(details, name)]
    for name in changed:
        setattr(patient, name, getattr(details, name))
    if changed:
        patient.updated_at = clock.now()
        _event(session, patient.id, "contact_changed", recorded_by_id, {"fields": changed})
    return patient


def set_identity_status(
    session: Session, *, patient_id: int, status: str, recorded_by_id: int | None = None
) -> Patient:
    patient = _active_patient(session, patient_id)
    new = rules.parse_status(status)
    rules.check_status_allows(
        new, has_nir=patient.nir_hash is not None, has_birth_place=bool(patient.birth_place_code)
    )
    if new != patient.identity_status:
        _event(
            session,
            patient.id,
            "status_changed",
            recorded_by_id,
            {"from": patient.identity_status.value, "to": new.value},
        )
        patient.identity_status = new
        patient.updated_at = clock.now()
    return patient


def record_amo_coverage(
    session: Session,
    *,
    patient_id: int,
    regime_code: str,
    fund_code: str,
    fund_name: str,
    insured_nir: str,
    beneficiary: str,
    valid_from: date,
    valid_until: date | None = None,
) -> AmoCoverage:
    """Statutory coverage as read from the carte Vitale (the insured person's NIR)."""
    _active_patient(session, patient_id)
    if not re.fullmatch(r"[0-9]{2}", regime_code):
        raise ValidationError("is a 2-digit regime code (01 = régime général)", field="regime_code")
    if not re.fullmatch(r"[0-9]{3}", fund_code):
        raise ValidationError("is a 3-digit fund (caisse) code", field="fund_code")
    try:
        who = Beneficiary(beneficiary)
    except ValueError as exc:
        raise ValidationError("must be insured or dependant", field="beneficiary") from exc
    _check_period(valid_from, valid_until)
    return common.add(
        session,
        AmoCoverage(
            patient_id=patient_id,
            regime_code=regime_code,
            fund_code=fund_code,
            fund_name=clean_text(fund_name, field="fund_name", max_length=100),
            insured_nir=parse_nir(insured_nir, field="insured_nir").value,
            beneficiary=who,
            valid_from=valid_from,
            valid_until=valid_until,
        ),
    )


def record_amc_coverage(
    session: Session,
    *,
    patient_id: int,
    organism_number: str,
    organism_name: str,
    member_number: str,
    valid_from: date,
    valid_until: date | None = None,
    third_party_payment: bool = True,
) -> AmcCoverage:
    """Complementary coverage (mutuelle)."""
    _active_patient(session, patient_id)
    organism = organism_number.strip()
    if not re.fullmatch(r"[0-9]{8,10}", organism):
        raise ValidationError("is an 8 to 10-digit organism number", field="organism_number")
    member = member_number.strip()
    if not re.fullmatch(r"[0-9A-Za-z]{1,30}", member):
        raise ValidationError("is 1 to 30 letters or digits", field="member_number")
    _check_period(valid_from, valid_until)
    return common.add(
        session,
        AmcCoverage(
            patient_id=patient_id,
            organism_number=organism,
            organism_name=clean_text(organism_name, field="organism_name", max_length=100),
            member_number=member,
            valid_from=valid_from,
            valid_until=valid_until,
            third_party_payment=third_party_payment,
        ),
    )


def declare_death(
    session: Session,
    *,
    patient_id: int,
    died_at: datetime,
    place: str,
    declared_by_id: int,
    recorded_by_id: int | None = None,
    now: datetime | None = None,
) -> DeathDeclaration:
    """Record a death; the patient's future appointments are cancelled."""
    now = now or clock.now()
    patient = _active_patient(session, patient_id)
    check_moment(died_at, field="died_at", now=now)
    if died_at > now:
        raise ValidationError("is in the future", field="died_at")
    if died_at.date() < patient.birth_date:
        raise ValidationError("is before the birth date", field="died_at")
    where = clean_text(place, field="place", max_length=200)
    _check_physician(session, declared_by_id, field_name="declared_by_id")
    if store.death_of(session, patient_id) is not None:
        raise ConflictError("a death is already declared for this patient", field="patient_id")
    declaration = common.add(
        session,
        DeathDeclaration(
            patient_id=patient_id, died_at=died_at, place=where, declared_by_id=declared_by_id
        ),
    )
    # Imported here: scheduling builds on this module (active_patient).
    from hygie.scheduling.service import cancel_for_death
    from hygie.stays.service import discharge_for_death

    cancelled = cancel_for_death(
        session, patient_id=patient_id, after=died_at, recorded_by_id=recorded_by_id
    )
    discharged = discharge_for_death(session, patient_id=patient_id, died_at=died_at)
    stopped = care_store.stop_active_prescriptions(session, patient_id)
    _event(
        session,
        patient_id,
        "death_declared",
        recorded_by_id,
        {
            "died_at": died_at.isoformat(),
            "cancelled_appointments": cancelled,
            "discharged_stay": discharged,
            "stopped_prescriptions": stopped,
        },
    )
    return declaration


def merge_identities(
    session: Session,
    *,
    survivor_id: int,
    merged_id: int,
    reason: str,
    recorded_by_id: int | None = None,
) -> PatientMerge:
    """Fold ``merged`` into ``survivor``: its records move, it stays as a merged identity
    pointing at the survivor, and the merge keeps the id of every row moved."""
    why = clean_text(reason, field="reason", max_length=500)
    if survivor_id == merged_id:
        raise ValidationError("an identity cannot be merged with itself", field="merged_id")
    survivor = _active_patient(session, survivor_id, field_name="survivor_id", lock=True)
    merged = _active_patient(session, merged_id, field_name="merged_id", lock=True)
    if survivor.nir_hash and merged.nir_hash and survivor.nir_hash != merged.nir_hash:
        raise ConflictError(
            "both identities carry a different NIR: they are two people", field="merged_id"
        )
    if (
        store.death_of(session, merged.id) is not None
        and store.death_of(session, survivor.id) is not None
    ):
        raise ConflictError("both identities carry a death declaration", field="merged_id")
    if care_store.open_stay(session, merged.id) and care_store.open_stay(session, survivor.id):
        raise ConflictError(
            "both identities have a stay in progress; discharge one first", field="merged_id"
        )

    moved: dict[str, Any] = dict(
        store.move_owned_rows(session, from_id=merged.id, to_id=survivor.id)
    )
    moved_registrations = _move_registrations(session, merged.id, survivor.id)
    if moved_registrations:
        moved["patient_registrations"] = moved_registrations
    death = store.death_of(session, merged.id)
    if death is not None:
        death.patient_id = survivor.id
        moved["death_declarations"] = [death.id]
    differences = {
        name: [str(getattr(survivor, name)), str(getattr(merged, name))]
        for name in ("birth_name", "birth_first_names", "sex", "birth_date", "birth_place_code")
        if getattr(survivor, name) != getattr(merged, name)
    }
    if merged.nir_hash and not survivor.nir_hash and merged.nir:
        # The INS moves to the survivor only if it agrees with the survivor's traits.
        rules.check_nir_matches_traits(
            parse_nir(merged.nir), sex=survivor.sex, birth_date=survivor.birth_date
        )
    if merged.nir_hash:
        # The survivor takes the merged identity's INS if it has none. The hash is unique:
        # it leaves the merged identity (flushed) before the survivor takes it.
        handed_over = (merged.nir, merged.nir_hash) if not survivor.nir_hash else None
        merged.nir_hash = None
        session.flush()
        if handed_over is not None:
            survivor.nir, survivor.nir_hash = handed_over
    if survivor.attending_physician_id is None:
        survivor.attending_physician_id = merged.attending_physician_id
    merged.state = PatientState.MERGED
    merged.merged_into_id = survivor.id
    now = clock.now()
    merged.updated_at = survivor.updated_at = now
    if survivor.possible_duplicate_of_id == merged.id:
        survivor.possible_duplicate_of_id = None
    if differences:
        moved["trait_differences"] = differences
    record = common.add(
        session,
        PatientMerge(
            survivor_id=survivor.id,
            merged_id=merged.id,
            reason=why,
            recorded_by_id=recorded_by_id,
            moved=moved,
        ),
    )
    _event(
        session,
        survivor.id,
        "merged_from",
        recorded_by_id,
        {"merged_id": merged.id, "merge_id": record.id},
    )
    _event(
        session,
        merged.id,
        "merged_into",
        recorded_by_id,
        {"survivor_id": survivor.id, "merge_id": record.id},
    )
    return record


def _move_registrations(session: Session, from_id: int, to_id: int) -> list[int]:
    moved: list[int] = []
    for reg in store.registrations(session, from_id):
        if store.registration(session, to_id, reg.establishment_id) is None:
            _register(session, to_id, reg.establishment_id)
            moved.append(reg.establishment_id)
    return moved


def _active_patient(
    session: Session, patient_id: int, *, field_name: str = "patient_id", lock: bool = False
) -> Patient:
    fetch = common.get_for_update if lock else common.get
    patient = fetch(session, Patient, patient_id, what="patient", field=field_name)
    if patient.state == PatientState.MERGED:
        raise ConflictError(
            f"patient #{patient_id} was merged into #{patient.merged_into_id}", field=field_name
        )
    return patient


def active_patient(session: Session, patient_id: int, *, alive: bool = False) -> Patient:
    """A patient that exists and is not merged (and not dead when ``alive``)."""
    patient = _active_patient(session, patient_id)
    if alive and store.death_of(session, patient_id) is not None:
        raise ConflictError(f"patient #{patient_id} is deceased", field="patient_id")
    return patient


def check_during_life(
    session: Session, patient: Patient, moment: date | datetime, *, field: str
) -> None:
    """Refuse a care event dated before the patient's birth or after their death."""
    day = local_date(moment) if isinstance(moment, datetime) else moment
    if day < patient.birth_date:
        raise ValidationError("is before the patient's birth date", field=field)
    death = store.death_of(session, patient.id)
    if death is not None and (
        moment > death.died_at if isinstance(moment, datetime) else day > local_date(death.died_at)
    ):
        raise ValidationError("is after the patient's death", field=field)


def _check_physician(session: Session, professional_id: int, *, field_name: str) -> Professional:
    prof = common.get(session, Professional, professional_id, what="professional", field=field_name)
    if prof.profession != Profession.PHYSICIAN:
        raise ValidationError(
            f"professional #{professional_id} is not a physician", field=field_name
        )
    return prof


def _check_period(valid_from: date, valid_until: date | None) -> None:
    check_day(valid_from, field="valid_from")
    if valid_until is not None:
        check_day(valid_until, field="valid_until")
    if valid_until is not None and valid_until < valid_from:
        raise ValidationError("ends before it starts", field="valid_until")


def _event(
    session: Session, patient_id: int, kind: str, by: int | None, details: dict[str, object]
) -> None:
    session.add(IdentityEvent(patient_id=patient_id, kind=kind, recorded_by_id=by, details=details))


IDENTITY_TRAITS = ("birth_name", "birth_first_names", "sex", "birth_date", "birth_place_code")


def update_identity(
    session: Session,
    *,
    patient_id: int,
    birth_name: str | None = None,
    used_name: str | None = None,
    first_name: str | None = None,
    birth_first_names: Sequence[str] | None = None,
    sex: str | None = None,
    birth_date: date | None = None,
    birth_place_code: str | None = None,
    recorded_by_id: int | None = None,
    today: date | None = None,
) -> list[str]:
    """Correct an identity's traits and names; returns the names of the fields that changed.

    ``None`` leaves a field as it is; an empty ``used_name``, ``first_name`` (the used
    first name, *prénom utilisé*) or ``birth_place_code`` clears it. The result is checked
    as a whole before anything changes: the NIR the identity carries must still agree with
    its sex, birth date and birth place; the birth traits of a retrieved or qualified
    identity come from the national INS service and are refused here; correcting a birth
    trait of a validated identity (checked against a document that said otherwise) takes it
    back to provisional. The identity history records which fields changed (not their
    values) and the status change, if any."""
    today = today or local_date(clock.now())
    patient = _active_patient(session, patient_id, lock=True)
    wanted: dict[str, Any] = {}
    if birth_name is not None:
        wanted["birth_name"] = clean_name(birth_name, field="birth_name")
    if birth_first_names is not None:
        wanted["birth_first_names"] = " ".join(rules.clean_first_names(birth_first_names))
    if sex is not None:
        wanted["sex"] = rules.parse_sex(sex)
    if birth_date is not None:
        check_day(birth_date, field="birth_date")
        rules.check_birth_date(birth_date, today)
        wanted["birth_date"] = birth_date
    if birth_place_code is not None:
        wanted["birth_place_code"] = (
            rules.check_birth_place(birth_place_code) if birth_place_code.strip() else None
        )
    if used_name is not None:
        wanted["used_name"] = (
            clean_name(used_name, field="used_name") if used_name.strip() else None
        )
    if first_name is not None:
        wanted["used_first_name"] = (
            clean_name(first_name, field="first_name") if first_name.strip() else None
        )
    changed = [name for name, value in wanted.items() if getattr(patient, name) != value]
    if not changed:
        return []
    traits_changed = [name for name in changed if name in IDENTITY_TRAITS]
    status = patient.identity_status
    if traits_changed and status in (IdentityStatus.RETRIEVED, IdentityStatus.QUALIFIED):
        raise ConflictError(
            f"the birth traits of a {status.value} identity come from the national INS "
            "service and cannot be changed here",
            field=traits_changed[0],
        )
    new_sex = wanted.get("sex", patient.sex)
    new_birth_date = wanted.get("birth_date", patient.birth_date)
    new_place = wanted.get("birth_place_code", patient.birth_place_code)
    if patient.nir:
        nir = parse_nir(patient.nir)
        rules.check_nir_matches_traits(nir, sex=new_sex, birth_date=new_birth_date)
        if new_place:
            rules.check_nir_matches_birth_place(nir, new_place)
    new_status = (
        IdentityStatus.PROVISIONAL
        if traits_changed and status == IdentityStatus.VALIDATED
        else status
    )
    # The former values stay in the history: identity vigilance traces who was who.
    previous = {name: _plain(getattr(patient, name)) for name in changed}
    for name in changed:
        setattr(patient, name, wanted[name])
    if "birth_name" in changed:
        patient.birth_name_key = name_key(patient.birth_name)
    if "birth_first_names" in changed:
        patient.first_name = patient.birth_first_names.split(" ")[0]
        patient.first_name_key = name_key(patient.first_name)
    if "used_name" in changed:
        patient.used_name_key = name_key(patient.used_name) if patient.used_name else None
    patient.updated_at = clock.now()
    details: dict[str, object] = {"fields": changed, "previous": previous}
    if new_status != status:
        patient.identity_status = new_status
        details["identity_status"] = {"from": status.value, "to": new_status.value}
    _event(session, patient.id, "identity_changed", recorded_by_id, details)
    return changed


def _plain(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


_IPP_RE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._-]{0,19}$")


def check_ipp(session: Session, *, establishment_id: int, ipp: str) -> str:
    """An IPP given by the establishment's admission system: 1 to 20 letters or digits, no
    other file of the establishment bearing it."""
    value = ipp.strip()
    if not _IPP_RE.match(value):
        raise ValidationError(
            "an IPP is 1 to 20 letters, digits, dots, dashes or underscores", field="ipp"
        )
    if store.registration_by_ipp(session, establishment_id, value) is not None:
        raise ConflictError("another file of this establishment bears this IPP", field="ipp")
    return value


def register_with_ipp(
    session: Session,
    *,
    patient_id: int,
    establishment_id: int,
    ipp: str,
    recorded_by_id: int | None = None,
) -> str:
    """Open the patient's file in the establishment under the IPP its admission system
    gave (an interface); a file the patient already has there must bear that IPP."""
    patient = _active_patient(session, patient_id)
    common.get(
        session, Establishment, establishment_id, what="establishment", field="establishment_id"
    )
    existing = store.registration(session, patient.id, establishment_id)
    if existing is not None:
        if existing.ipp != ipp.strip():
            raise ConflictError(
                f"the patient's file in this establishment bears IPP {existing.ipp}", field="ipp"
            )
        return existing.ipp
    value = check_ipp(session, establishment_id=establishment_id, ipp=ipp)
    _register(session, patient.id, establishment_id, value)
    _event(
        session,
        patient.id,
        "registered",
        recorded_by_id,
        {"establishment_id": establishment_id, "ipp": "given by the establishment"},
    )
    return value
