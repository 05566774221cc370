"""What each ADT event does, once the gate has decided (:mod:`hygie.access.feed`): the
values a feed hands over, finding the patient by IPP or INS, and the domain calls of A01
(admit), A03 (discharge), A04 (register), A08 (update) and A40 (merge). Everything here runs
inside the message's one transaction; nothing commits on its own."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from hygie.access.actor import Actor
from hygie.access.scope import widen_to_group
from hygie.errors import ConflictError, NotFoundError, ValidationError
from hygie.kit.text import search_key
from hygie.models import Patient
from hygie.patients import service as patients
from hygie.stays import service as stays
from hygie.storage import access as store
from hygie.storage import care as care_store
from hygie.storage import organisation as org_store
from hygie.storage import patients as patient_store
from hygie.storage import staff as staff_store

CONTACT_FIELDS = patients.CONTACT_FIELDS


# --- what a feed hands over ---------------------------------------------------------------
@dataclass(frozen=True)
class FeedPatient:
    """A patient as the message describes it. ``None``: the message says nothing of it.
    In ``contact``, only the fields the message carries; an empty string clears one."""

    ipp: str | None = None
    ins: str | None = None  # the INS matricule (NIR or NIA)
    birth_name: str | None = None
    birth_first_names: tuple[str, ...] | None = None
    used_name: str | None = None
    used_first_name: str | None = None
    sex: str | None = None
    birth_date: date | None = None
    birth_place_code: str | None = None
    contact: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class FeedVisit:
    department_code: str | None = None
    bed: str | None = None
    responsible_rpps: str | None = None
    admit_at: datetime | None = None
    discharge_at: datetime | None = None
    visit_number: str | None = None
    reason: str | None = None
    destination: str | None = None


@dataclass(frozen=True)
class FeedMessage:
    trigger: str  # A01, A03, A04, A08, A40
    control_id: str
    sender: str  # sending application and facility, for the trail
    # FINESS numbers the message names for the establishment, with where it named them.
    facilities: tuple[tuple[str, str], ...]
    patient: FeedPatient
    visit: FeedVisit | None = None
    merged_ipp: str | None = None  # A40: the identity folded into the patient


@dataclass(frozen=True)
class FeedResult:
    patient_id: int
    ipp: str
    summary: str


def by_ipp(session: Session, actor: Actor, ipp: str, est: int) -> Patient | None:
    """The patient whose file bears ``ipp`` in one of the actor's establishments (that of
    the message first)."""
    for where in [est, *sorted(actor.establishments - {est})]:
        reg = patient_store.registration_by_ipp(session, where, ipp)
        if reg is not None:
            return session.get(Patient, reg.patient_id)
    return None


def find_patient(
    session: Session, actor: Actor, est: int, who: FeedPatient, *, creating: bool
) -> Patient | None:
    """The patient the message is about, or None when it is to be created."""
    ins_hash = patients.nir_lookup_hash(who.ins) if who.ins else None
    if who.ipp:
        found = by_ipp(session, actor, who.ipp, est)
        if found is None and not creating:
            raise NotFoundError(
                f"no patient with IPP {who.ipp} in the account's establishments", field="ipp"
            )
        if found is not None:
            if ins_hash is not None and found.nir_hash not in (None, ins_hash):
                raise ConflictError(
                    "the IPP and the INS designate two different identities", field="ins"
                )
            return found
        # A new IPP from the establishment's admission system: its file is to be opened.
    if ins_hash is not None:
        found = patient_store.by_nir_hash(session, ins_hash)
        if found is not None and store.establishments_of(session, found.id) & actor.establishments:
            _check_same_person(found, who, by="ins")
            return found
        if found is not None and creating:
            raise ConflictError(
                "an identity with this INS exists in another establishment of the group: "
                "its file must be opened there by identity vigilance",
                field="ins",
            )
    if creating:
        return None
    raise NotFoundError("no patient with this IPP or INS in the account's establishments",
                        field="ipp" if who.ipp or not who.ins else "ins")  # fmt: skip


def _check_same_person(found: Patient, who: FeedPatient, *, by: str) -> None:
    """The identity found (``by`` its INS or IPP) must have the birth traits the message
    gives: otherwise the identifier was mistyped or usurped, or the identity needs a
    correction (an A08), and identity vigilance has to look."""
    differing = [
        (name, label)
        for name, label, ours, theirs in (
            ("birth_name", "birth name", found.birth_name_key, search_key(who.birth_name or "")),
            ("birth_date", "birth date", found.birth_date, who.birth_date),
            ("sex", "sex", found.sex.value, who.sex),
        )
        if theirs and ours != theirs
    ]
    if differing:
        raise ValidationError(
            f"the identity of this {by.upper()} has another "
            + " and ".join(label for _n, label in differing)
            + " than the message: refused for identity vigilance (an A08 corrects an identity)",
            field=by if by == "ins" else differing[0][0],
        )


Perform = Callable[
    [Session, Actor, int, FeedMessage, Patient | None, datetime],
    tuple[FeedResult, list[int], dict[str, Any]],
]


def _contact(current: Patient | None, given: dict[str, str]) -> patients.Contact:
    """The contact details after the message: what it carries replaces what is stored."""
    values = {name: getattr(current, name) if current is not None else None
              for name in CONTACT_FIELDS}  # fmt: skip
    values.update({name: given[name] or None for name in CONTACT_FIELDS if name in given})
    return patients.Contact(**values)


def _register_or_create(
    session: Session, actor: Actor, est: int, message: FeedMessage, found: Patient | None
) -> tuple[Patient, str, dict[str, Any]]:
    who = message.patient
    if found is None:
        if not who.birth_name or not who.birth_first_names:
            raise ValidationError("a new patient needs a birth name and first name "
                                  "(PID-5 type L)", field="birth_name")  # fmt: skip
        if who.sex is None:
            raise ValidationError("a new patient needs a sex", field="sex")
        if who.birth_date is None:
            raise ValidationError("a new patient needs a birth date", field="birth_date")
        created = patients.create_patient(
            session, establishment_id=est, birth_name=who.birth_name,
            birth_first_names=list(who.birth_first_names), sex=who.sex,
            birth_date=who.birth_date, nir=who.ins, birth_place_code=who.birth_place_code,
            used_name=who.used_name or None, used_first_name=who.used_first_name or None,
            contact=_contact(None, who.contact), recorded_by_id=actor.user_id, ipp=who.ipp,
        )  # fmt: skip
        more: dict[str, Any] = {"created": True}
        if created.possible_duplicates:
            more["possible_duplicates"] = created.possible_duplicates
        return created.patient, created.ipp, more
    patient = patients.active_patient(session, found.id)
    known_ipp = who.ipp is not None and any(
        reg.ipp == who.ipp for reg in patient_store.registrations(session, patient.id)
    )
    if known_ipp:  # found by its IPP (by its INS, it was checked when found)
        _check_same_person(patient, who, by="ipp")
    if who.ipp is not None and not known_ipp:  # found by INS, with the IPP of a new file
        ipp = patients.register_with_ipp(session, patient_id=patient.id, establishment_id=est,
                                         ipp=who.ipp, recorded_by_id=actor.user_id)  # fmt: skip
    else:
        ipp = patients.ensure_registered(session, patient_id=patient.id, establishment_id=est)
    more = {"created": False}
    if who.contact:
        patients.update_contact(session, patient_id=patient.id,
                                contact=_contact(patient, who.contact),
                                recorded_by_id=actor.user_id)  # fmt: skip
    return patient, ipp, more


def _a04(
    session: Session, actor: Actor, est: int, message: FeedMessage, found: Patient | None,
    now: datetime,
) -> tuple[FeedResult, list[int], dict[str, Any]]:  # fmt: skip
    patient, ipp, more = _register_or_create(session, actor, est, message, found)
    verb = "registered new patient" if more["created"] else "registered patient"
    return FeedResult(patient.id, ipp, f"{verb} IPP {ipp}"), [patient.id], more


def _a01(
    session: Session, actor: Actor, est: int, message: FeedMessage, found: Patient | None,
    now: datetime,
) -> tuple[FeedResult, list[int], dict[str, Any]]:  # fmt: skip
    visit = message.visit or FeedVisit()
    if not visit.department_code:
        raise ValidationError("an admission needs the unit (point of care)", field="department")
    if visit.admit_at is None:
        raise ValidationError("an admission needs its date and time", field="at")
    if not visit.responsible_rpps:
        raise ValidationError("an admission needs the attending doctor's RPPS number",
                              field="responsible")  # fmt: skip
    unit = org_store.department_by_code(session, est, visit.department_code)
    if unit is None:
        raise NotFoundError(f"no unit {visit.department_code} in this establishment",
                            field="department")  # fmt: skip
    doctor = staff_store.professional_by_rpps(session, visit.responsible_rpps)
    if doctor is None:
        raise NotFoundError(f"no professional with RPPS {visit.responsible_rpps}",
                            field="responsible")  # fmt: skip
    patient, ipp, more = _register_or_create(session, actor, est, message, found)
    stay = stays.admit(
        session, patient_id=patient.id, establishment_id=est, department_id=unit.id,
        responsible_id=doctor.id, at=visit.admit_at, reason=visit.reason or "Admission",
        bed=visit.bed, now=now,
    )  # fmt: skip
    more["encounter_id"] = stay.id
    summary = f"admitted patient IPP {ipp} (stay #{stay.id})"
    return FeedResult(patient.id, ipp, summary), [patient.id], more


def _a03(
    session: Session, actor: Actor, est: int, message: FeedMessage, found: Patient | None,
    now: datetime,
) -> tuple[FeedResult, list[int], dict[str, Any]]:  # fmt: skip
    found = _existing(found)
    visit = message.visit or FeedVisit()
    at = visit.discharge_at
    if at is None:
        raise ValidationError("a discharge needs its date and time", field="discharge_at")
    stay = care_store.open_stay(session, found.id)
    if stay is None or stay.establishment_id != est:
        raise ConflictError("the patient has no stay in progress in this establishment",
                            field="encounter")  # fmt: skip
    stays.discharge(session, encounter_id=stay.id, at=at,
                    destination=visit.destination or "home", now=now)  # fmt: skip
    ipp = _ipp(session, found.id, est)
    summary = f"discharged patient IPP {ipp} (stay #{stay.id})"
    return FeedResult(found.id, ipp, summary), [found.id], {"encounter_id": stay.id}


def _a08(
    session: Session, actor: Actor, est: int, message: FeedMessage, found: Patient | None,
    now: datetime,
) -> tuple[FeedResult, list[int], dict[str, Any]]:  # fmt: skip
    found = _existing(found)
    who = message.patient
    changed = patients.update_identity(
        session, patient_id=found.id, birth_name=who.birth_name,
        birth_first_names=list(who.birth_first_names) if who.birth_first_names else None,
        used_name=who.used_name, first_name=who.used_first_name, sex=who.sex,
        birth_date=who.birth_date, birth_place_code=who.birth_place_code,
        recorded_by_id=actor.user_id,
    )  # fmt: skip
    more: dict[str, Any] = {}
    # An INS is not added by an update: identity vigilance records it (after checking it
    # with the national service); the rest of the update is applied.
    if who.ins and patients.active_patient(session, found.id).nir_hash is None:
        more["ins_not_recorded"] = True
    if who.contact:
        patients.update_contact(session, patient_id=found.id,
                                contact=_contact(found, who.contact),
                                recorded_by_id=actor.user_id)  # fmt: skip
        changed = [*changed, "contact"]
    ipp = _ipp(session, found.id, est)
    summary = f"updated patient IPP {ipp}" + (f" ({', '.join(changed)})" if changed else
                                              " (nothing changed)")  # fmt: skip
    if more:
        summary += "; INS not recorded"
    return FeedResult(found.id, ipp, summary), [found.id], {"fields": changed, **more}


def _a40(
    session: Session, actor: Actor, est: int, message: FeedMessage, found: Patient | None,
    now: datetime,
) -> tuple[FeedResult, list[int], dict[str, Any]]:  # fmt: skip
    found = _existing(found)
    if not message.merged_ipp:
        raise ValidationError("a merge needs the merged identity's IPP", field="merged_ipp")
    merged = by_ipp(session, actor, message.merged_ipp, est)
    if merged is None:
        raise NotFoundError(f"no patient with IPP {message.merged_ipp} in the account's "
                            "establishments", field="merged_ipp")  # fmt: skip
    widen_to_group(session)  # decided; the merge moves the duplicate's rows everywhere
    record = patients.merge_identities(
        session, survivor_id=found.id, merged_id=merged.id,
        reason=f"HL7 A40 {message.control_id} from {message.sender}"[:500],
        recorded_by_id=actor.user_id,
    )  # fmt: skip
    ipp = _ipp(session, found.id, est)
    summary = f"merged IPP {message.merged_ipp} into IPP {ipp}"
    more = {"merged_id": merged.id, "merge_id": record.id}
    return FeedResult(found.id, ipp, summary), [found.id, merged.id], more


def _existing(found: Patient | None) -> Patient:
    if found is None:  # _find raises first for the events that create nobody
        raise NotFoundError("no such patient in the account's establishments", field="ipp")
    return found


def _ipp(session: Session, patient_id: int, est: int) -> str:
    """The patient's IPP in the establishment (else in the first file it has)."""
    reg = patient_store.registration(session, patient_id, est)
    if reg is None:
        regs = sorted(patient_store.registrations(session, patient_id),
                      key=lambda r: r.establishment_id)  # fmt: skip
        reg = regs[0] if regs else None
    return reg.ipp if reg is not None else ""


PERFORM: dict[str, Perform] = {"A01": _a01, "A03": _a03, "A04": _a04, "A08": _a08, "A40": _a40}
