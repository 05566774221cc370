"""The segments an ADT message is read from: PID (identifiers, names, birth, sex, address,
phones), PV1/PV2 (the visit) and MRG (the identity merged). Each value's place in the
message is noted in ``locations`` for the errors the gate may raise later."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from hygie.access.feed import FeedPatient, FeedVisit
from hygie.errors import ValidationError
from hygie.hl7 import errors as e
from hygie.hl7.errors import Hl7Error, Location, rejected
from hygie.hl7.values import (
    Reader,
    component,
    finess_of,
    hl7_null,
    optional_datetime,
    parse_date,
    repetitions,
)
from hygie.kit.identifiers import parse_nir

# Assigning authorities of the INS matricule (GLOSSARY.md; ANS "INS" guide): a NIR, a NIA,
# and the test NIR and NIA of the national test platform.
INS_OIDS = {
    "1.2.250.1.213.1.4.8": "NIR",
    "1.2.250.1.213.1.4.9": "NIA",
    "1.2.250.1.213.1.4.10": "NIR (test)",
    "1.2.250.1.213.1.4.11": "NIA (test)",
}
SEX = {"F": "female", "M": "male", "U": "unknown", "A": "unknown", "N": "unknown",
       "O": "unknown"}  # fmt: skip
PATIENT_CLASSES = ("E", "I", "O", "P", "R", "B", "C", "N", "U")
ADMITTED_CLASSES = ("I", "E")
DESTINATIONS = {"home", "transfer", "nursing_home", "deceased", "against_advice", "other"}


def read_patient(reader: Reader, pid: Any, trigger: str,
             locations: dict[str, Location]) -> FeedPatient:  # fmt: skip
    ipp, ins = None, None
    for i, rep in enumerate(repetitions(pid, 3), start=1):
        value = reader.text(component(rep, "CX", 1))
        kind = reader.text(component(rep, "CX", 5)).upper()
        authority = reader.subcomponents(component(rep, "CX", 4))
        oid = authority[1] if len(authority) > 1 else ""
        where = Location("PID", 1, 3, i, 1)
        if kind == "PI" and ipp is None:
            if not value:
                raise rejected(e.REQUIRED_FIELD_MISSING, "the IPP (type PI) has no value", where)
            if len(value) > 20:
                raise rejected(e.DATA_TYPE_ERROR, "the IPP is longer than 20 characters", where)
            ipp = value
            locations["ipp"] = locations["patient_id"] = where
        elif kind in ("INS", "NH") or oid in INS_OIDS:
            if oid not in INS_OIDS:
                raise Hl7Error(
                    "AR", e.TABLE_VALUE_NOT_FOUND,
                    f"INS assigning authority {oid or '(none)'} is not an INS OID "
                    f"({', '.join(INS_OIDS)})", Location("PID", 1, 3, i, 4),
                )  # fmt: skip
            try:
                ins = parse_nir(value, field="ins").value
            except ValidationError as exc:
                raise rejected(e.DATA_TYPE_ERROR, f"INS: {exc.message}", where) from None
            locations["ins"] = locations["nir"] = where
    if ipp is None and ins is None and trigger not in ("A01", "A04"):
        raise rejected(e.REQUIRED_FIELD_MISSING,
                       "PID-3 carries neither an IPP (type PI) nor an INS",
                       Location("PID", 1, 3))  # fmt: skip
    names = _names(reader, pid, locations)
    sex = None
    sex_reps = repetitions(pid, 8)
    raw_sex = reader.text(sex_reps[0]) if sex_reps else ""
    if raw_sex:
        if raw_sex.upper() not in SEX:
            raise rejected(e.TABLE_VALUE_NOT_FOUND,
                           f"sex {raw_sex!r} is not in HL7 table 0001 (F, M, U, A, N, O)",
                           Location("PID", 1, 8))  # fmt: skip
        sex = SEX[raw_sex.upper()]
        locations["sex"] = Location("PID", 1, 8)
    birth_date = None
    birth_reps = repetitions(pid, 7)
    raw_birth = reader.text(birth_reps[0]) if birth_reps else ""
    if raw_birth:
        locations["birth_date"] = Location("PID", 1, 7)
        birth_date = parse_date(raw_birth, locations["birth_date"], what="birth date")
    contact, birth_place = _contact(reader, pid, locations)
    # Where to point a domain error about a value the message did not carry.
    for name, number in (("birth_name", 5), ("birth_first_names", 5), ("sex", 8),
                         ("birth_date", 7), ("ipp", 3), ("ins", 3), ("nir", 3),
                         ("patient_id", 3)):  # fmt: skip
        locations.setdefault(name, Location("PID", 1, number))
    return FeedPatient(
        ipp=ipp, ins=ins, birth_name=names.get("birth_name"),
        birth_first_names=names.get("birth_first_names"),
        used_name=names.get("used_name"),
        used_first_name=names.get("used_first_name"),
        sex=sex, birth_date=birth_date, birth_place_code=birth_place, contact=contact,
    )  # fmt: skip


def _names(reader: Reader, pid: Any, locations: dict[str, Location]) -> dict[str, Any]:
    reps = repetitions(pid, 5)
    if not reps or not any(reader.text(component(r, "XPN", 1)) for r in reps):
        raise rejected(e.REQUIRED_FIELD_MISSING, "PID-5 (patient name) is missing",
                       Location("PID", 1, 5, 1, 1))  # fmt: skip
    found: dict[str, Any] = {}
    typed = [reader.text(component(r, "XPN", 7)).upper() for r in reps]
    birth_index = typed.index("L") if "L" in typed else (typed.index("") if "" in typed else None)
    for i, rep in enumerate(reps, start=1):
        family = reader.text(component(rep, "XPN", 1))
        given = reader.text(component(rep, "XPN", 2))
        further = reader.text(component(rep, "XPN", 3))
        if i - 1 == birth_index:
            if not family:
                raise rejected(e.REQUIRED_FIELD_MISSING, "the birth name (PID-5 type L) is empty",
                               Location("PID", 1, 5, i, 1))  # fmt: skip
            found["birth_name"] = family
            locations["birth_name"] = Location("PID", 1, 5, i, 1)
            first = further.split() if further else []
            if given and (not first or first[0].upper() != given.upper()):
                first = [given, *first]
            if first:
                found["birth_first_names"] = tuple(first)
                locations["birth_first_names"] = Location("PID", 1, 5, i, 2)
        elif typed[i - 1] == "D":
            found["used_name"] = family
            locations["used_name"] = Location("PID", 1, 5, i, 1)
            if given:
                found["used_first_name"] = given
                locations["used_first_name"] = locations["first_name"] = Location("PID", 1, 5, i, 2)
    return found


def _contact(
    reader: Reader, pid: Any, locations: dict[str, Location]
) -> tuple[dict[str, str], str | None]:
    contact: dict[str, str] = {}
    birth_place = None
    home_done = False
    for i, rep in enumerate(repetitions(pid, 11), start=1):
        kind = reader.text(component(rep, "XAD", 7)).upper()
        if kind == "BDL":
            code = reader.text(component(rep, "XAD", 9))
            if code and not hl7_null(code):
                birth_place = code
                locations["birth_place_code"] = Location("PID", 1, 11, i, 9)
            continue
        if home_done or kind not in ("", "H", "L", "M", "P"):
            continue
        home_done = True
        street = reader.text(component(rep, "XAD", 1))
        other = reader.text(component(rep, "XAD", 2))
        lines = [v for v in (street, other) if v and not hl7_null(v)]
        city = reader.text(component(rep, "XAD", 3))
        postal = reader.text(component(rep, "XAD", 5))
        contact["address_line"] = ", ".join(lines)
        contact["city"] = "" if hl7_null(city) else city
        contact["postal_code"] = "" if hl7_null(postal) else postal
        locations["address_line"] = Location("PID", 1, 11, i, 1)
        locations["city"] = Location("PID", 1, 11, i, 3)
        locations["postal_code"] = Location("PID", 1, 11, i, 5)
    for i, rep in enumerate(repetitions(pid, 13), start=1):
        use = reader.text(component(rep, "XTN", 2)).upper()
        equipment = reader.text(component(rep, "XTN", 3)).upper()
        email = reader.text(component(rep, "XTN", 4))
        number = (
            reader.text(component(rep, "XTN", 12))
            or reader.text(component(rep, "XTN", 1))
            or reader.text(component(rep, "XTN", 6)) + reader.text(component(rep, "XTN", 7))
        )
        if use == "NET" or equipment in ("INTERNET", "X.400") or (email and not number):
            if "email" not in contact:
                contact["email"] = "" if hl7_null(email) else email
                locations["email"] = Location("PID", 1, 13, i, 4)
        elif number:
            name = "phone_mobile" if equipment == "CP" else "phone_home"
            if name not in contact:
                contact[name] = "" if hl7_null(number) else number
                locations[name] = Location("PID", 1, 13, i, 1)
    return contact, birth_place


def read_visit(
    reader: Reader, pv1: Any, pv2: Any, trigger: str, occurred: datetime | None,
    locations: dict[str, Location],
) -> tuple[FeedVisit, str | None]:  # fmt: skip
    class_reps = repetitions(pv1, 2)
    patient_class = reader.text(class_reps[0]).upper() if class_reps else ""
    if not patient_class:
        raise rejected(e.REQUIRED_FIELD_MISSING, "PV1-2 (patient class) is missing",
                       Location("PV1", 1, 2))  # fmt: skip
    if patient_class not in PATIENT_CLASSES:
        raise rejected(e.TABLE_VALUE_NOT_FOUND,
                       f"patient class {patient_class!r} is not in HL7 table 0004",
                       Location("PV1", 1, 2))  # fmt: skip
    if trigger == "A01" and patient_class not in ADMITTED_CLASSES:
        raise Hl7Error("AE", e.APPLICATION_ERROR,
                       f"an admission (A01) is for an inpatient (PV1-2 I or E), not "
                       f"{patient_class}", Location("PV1", 1, 2))  # fmt: skip
    location = repetitions(pv1, 3)
    unit = bed = facility = None
    if location:
        unit = reader.text(component(location[0], "PL", 1)) or None
        room = reader.text(component(location[0], "PL", 2))
        bed_value = reader.text(component(location[0], "PL", 3))
        bed = (f"{room}-{bed_value}" if room and bed_value else bed_value) or None
        hd = reader.subcomponents(component(location[0], "PL", 4))
        for value in hd[:2]:
            facility = facility or finess_of(value)
    locations["department"] = locations["department_id"] = Location("PV1", 1, 3, 1, 1)
    locations["bed"] = Location("PV1", 1, 3, 1, 3)
    doctor = None
    for number in (7, 17):
        reps = repetitions(pv1, number)
        if reps and reader.text(component(reps[0], "XCN", 1)):
            doctor = reader.text(component(reps[0], "XCN", 1))
            locations["responsible"] = locations["responsible_id"] = Location("PV1", 1, number,
                                                                              1, 1)  # fmt: skip
            break
    locations.setdefault("responsible", Location("PV1", 1, 7))
    locations.setdefault("responsible_id", Location("PV1", 1, 7))
    visit_reps = repetitions(pv1, 19)
    visit_number = reader.text(component(visit_reps[0], "CX", 1)) if visit_reps else None
    locations["encounter"] = locations["encounter_id"] = Location("PV1", 1, 19)
    admit_at = optional_datetime(reader, pv1, 44, "PV1", "admit date/time")
    discharge_at = optional_datetime(reader, pv1, 45, "PV1", "discharge date/time")
    if trigger == "A01":
        if admit_at is None and occurred is None:
            raise rejected(e.REQUIRED_FIELD_MISSING,
                           "PV1-44 (admit date/time) is missing, and EVN-6 too",
                           Location("PV1", 1, 44))  # fmt: skip
        admit_at = admit_at or occurred
        if not unit:
            raise rejected(e.REQUIRED_FIELD_MISSING, "PV1-3.1 (point of care: the unit) is "
                           "missing", Location("PV1", 1, 3, 1, 1))  # fmt: skip
        if not doctor:
            raise rejected(e.REQUIRED_FIELD_MISSING, "PV1-7 (attending doctor's RPPS) is "
                           "missing", Location("PV1", 1, 7, 1, 1))  # fmt: skip
    locations["at"] = Location("PV1", 1, 45 if trigger == "A03" else 44)
    locations["discharge_at"] = Location("PV1", 1, 45)
    if trigger == "A03":
        if discharge_at is None and occurred is None:
            raise rejected(e.REQUIRED_FIELD_MISSING,
                           "PV1-45 (discharge date/time) is missing, and EVN-6 too",
                           Location("PV1", 1, 45))  # fmt: skip
        discharge_at = discharge_at or occurred
    disposition = repetitions(pv1, 36)
    raw_destination = reader.text(disposition[0]).lower() if disposition else ""
    destination = None
    if raw_destination:
        destination = raw_destination if raw_destination in DESTINATIONS else "other"
    locations["destination"] = Location("PV1", 1, 36)
    reason = None
    if pv2 is not None:
        reps = repetitions(pv2, 3)
        if reps:
            reason = (reader.text(component(reps[0], "CE", 2))
                      or reader.text(component(reps[0], "CE", 1)) or None)  # fmt: skip
            locations["reason"] = Location("PV2", 1, 3)
    visit = FeedVisit(
        department_code=unit, bed=bed, responsible_rpps=_rpps(doctor), admit_at=admit_at,
        discharge_at=discharge_at, visit_number=visit_number or None, reason=reason,
        destination=destination,
    )  # fmt: skip
    return visit, facility


def read_merged(reader: Reader, mrg: Any, locations: dict[str, Location]) -> str:
    reps = repetitions(mrg, 1)
    for i, rep in enumerate(reps, start=1):
        kind = reader.text(component(rep, "CX", 5)).upper()
        value = reader.text(component(rep, "CX", 1))
        if value and kind in ("PI", ""):
            locations["merged_ipp"] = locations["merged_id"] = Location("MRG", 1, 1, i, 1)
            return value
    raise rejected(e.REQUIRED_FIELD_MISSING,
                   "MRG-1 (the merged identity's IPP, type PI) is missing",
                   Location("MRG", 1, 1, 1, 1))  # fmt: skip


def _rpps(value: str | None) -> str | None:
    """The RPPS number of XCN-1: as such (11 digits), or as the national health
    professional identifier of the French IHE PAM profile, "8" followed by the RPPS."""
    if value and len(value) == 12 and value.startswith("8") and value.isdigit():
        return value[1:]
    return value
