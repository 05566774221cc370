"""Reading an HL7 v2.5 ADT message into what the gate's feed function takes.

hl7apy splits the message into segments, fields, repetitions and components (and knows the
v2.5 data types); this module checks, before anything is applied, everything the feed
relies on: the header (message type, event, version, processing id, control id), the
segments each event requires and their order, and the value of every field it reads.
The first problem found is raised as an :class:`Hl7Error` that names the segment, field,
repetition and component at fault; a message that passes here can still be refused by
the gate or the domain rules (an application error, ``AE``).

Where each value came from is kept (:attr:`ParsedMessage.locations`), so that an error the
domain raises on a field (``birth_date``, ``ins``...) is reported at its place in the
message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.exceptions import HL7apyException
from hl7apy.parser import parse_message

from hygie.access.feed import FeedMessage, FeedPatient, FeedVisit
from hygie.errors import ValidationError
from hygie.hl7 import errors as e
from hygie.hl7.errors import Hl7Error, Location, rejected
from hygie.kit.identifiers import parse_finess, parse_nir

PARIS = ZoneInfo("Europe/Paris")
SUPPORTED_EVENTS = ("A01", "A03", "A04", "A08", "A40")
SUPPORTED_VERSIONS = ("2.5", "2.5.1")
PROCESSING_IDS = ("P", "T", "D")
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
# The segments each event needs, in the order they must come.
REQUIRED = {
    "A01": ("MSH", "EVN", "PID", "PV1"),
    "A03": ("MSH", "EVN", "PID", "PV1"),
    "A04": ("MSH", "EVN", "PID", "PV1"),
    "A08": ("MSH", "EVN", "PID", "PV1"),
    "A40": ("MSH", "EVN", "PID", "MRG"),
}
_SEGMENT = re.compile(r"^[A-Z][A-Z0-9]{2}$")
_DTM = re.compile(
    r"^(\d{4})(\d{2})(\d{2})(?:(\d{2})(\d{2})(?:(\d{2})(?:\.\d{1,4})?)?)?([+-]\d{4})?$"
)


@dataclass(frozen=True)
class Header:
    """What an acknowledgement needs from the message it answers (best effort: read even
    from a message that is otherwise refused)."""

    control_id: str = ""
    sending_application: str = ""
    sending_facility: str = ""
    receiving_application: str = ""
    receiving_facility: str = ""
    trigger: str = ""
    processing_id: str = "P"
    version: str = "2.5"

    @property
    def sender(self) -> str:
        return f"{self.sending_application}@{self.sending_facility}".strip("@")[:100]


@dataclass
class ParsedMessage:
    header: Header
    message: FeedMessage
    locations: dict[str, Location] = field(default_factory=dict)


def normalise(raw: str) -> str:
    """The message with segments separated by CR alone (files often use LF or CRLF), MLLP
    framing characters and blank lines removed."""
    text = raw.replace("\x0b", "").replace("\x1c", "")
    lines = [line for line in re.split(r"\r\n|\r|\n", text) if line.strip()]
    return "\r".join(lines)


def read_header(raw: str) -> Header:
    """The MSH fields an acknowledgement echoes, read without trusting the rest."""
    text = normalise(raw)
    if not text.startswith("MSH") or len(text) < 8:
        return Header()
    sep = text[3]
    comp = text[4]
    msh = text.split("\r", 1)[0].split(sep)

    def at(n: int) -> str:  # MSH-n: MSH-1 is the separator itself
        return msh[n - 1] if n - 1 < len(msh) else ""

    kind = at(9).split(comp)
    return Header(
        control_id=at(10)[:199], sending_application=at(3)[:227], sending_facility=at(4)[:227],
        receiving_application=at(5)[:227], receiving_facility=at(6)[:227],
        trigger=kind[1][:3] if len(kind) > 1 else "", processing_id=at(11)[:3] or "P",
        version=at(12)[:60] or "2.5",
    )  # fmt: skip


class _Reader:
    """Values out of hl7apy elements, unescaped, with their place in the message."""

    def __init__(self, text: str) -> None:
        self.field_sep = text[3]
        self.comp, self.rep, self.esc, self.sub = text[4], text[5], text[6], text[7]

    def unescape(self, value: str) -> str:
        if self.esc not in value:
            return value
        table = {"F": self.field_sep, "S": self.comp, "T": self.sub, "R": self.rep,
                 "E": self.esc}  # fmt: skip
        pattern = re.escape(self.esc) + r"([FSTRE])" + re.escape(self.esc)
        return re.sub(pattern, lambda m: table[m.group(1)], value)

    def text(self, element: Any) -> str:
        """An element's value: its first subcomponent, unescaped and stripped."""
        if element is None:
            return ""
        raw = element.to_er7()
        return self.unescape(raw.split(self.sub)[0]).strip()

    def subcomponents(self, element: Any) -> list[str]:
        if element is None:
            return []
        return [self.unescape(s).strip() for s in element.to_er7().split(self.sub)]


def _repetitions(segment: Any, number: int) -> list[Any]:
    name = f"{segment.name.lower()}_{number}"
    try:
        return list(getattr(segment, name))
    except (HL7apyException, AttributeError, IndexError):
        return []


def _component(rep: Any, datatype: str, number: int) -> Any:
    try:
        return getattr(rep, f"{datatype.lower()}_{number}")
    except (HL7apyException, AttributeError, IndexError):
        return None


def parse_datetime(value: str, where: Location, *, what: str) -> datetime:
    """An HL7 DTM to the minute at least; without an offset it is Paris time."""
    m = _DTM.match(value)
    if m is None or m.group(4) is None:
        raise rejected(e.DATA_TYPE_ERROR,
                       f"{what}: {value!r} is not a date and time (YYYYMMDDHHMM[SS][+ZZZZ])",
                       where)  # fmt: skip
    year, month, day, hour, minute, second, offset = m.groups()
    zone: timezone | ZoneInfo = PARIS
    try:
        if offset:
            sign = 1 if offset[0] == "+" else -1
            zone = timezone(sign * timedelta(hours=int(offset[1:3]), minutes=int(offset[3:5])))
        return datetime(int(year), int(month), int(day), int(hour), int(minute),
                        int(second or 0), tzinfo=zone)  # fmt: skip
    except ValueError:
        raise rejected(e.DATA_TYPE_ERROR, f"{what}: {value!r} is not a real date", where) from None


def parse_date(value: str, where: Location, *, what: str) -> date:
    m = re.match(r"^(\d{4})(\d{2})(\d{2})", value)
    if m is None or not re.fullmatch(r"\d{8}(\d{2,6}(\.\d{1,4})?)?([+-]\d{4})?", value):
        raise rejected(e.DATA_TYPE_ERROR, f"{what}: {value!r} is not a date (YYYYMMDD)", where)
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        raise rejected(e.DATA_TYPE_ERROR, f"{what}: {value!r} is not a real date", where) from None


def _finess(value: str) -> str | None:
    try:
        return parse_finess(value)
    except ValidationError:
        return None


def parse(raw: str) -> ParsedMessage:
    """Read and check one ADT message; raises :class:`Hl7Error` (AR) at the first fault."""
    text = normalise(raw)
    if not text.startswith("MSH"):
        raise rejected(e.SEGMENT_SEQUENCE, "the message does not start with an MSH segment",
                       Location("MSH"))  # fmt: skip
    if len(text) < 9 or text[3].isalnum():
        raise rejected(e.DATA_TYPE_ERROR, "MSH-1/MSH-2: no valid separators",
                       Location("MSH", 1, 2))  # fmt: skip
    header = read_header(text)
    _check_header(text, header)
    for number, line in enumerate(text.split("\r"), start=1):
        named = _SEGMENT.match(line[:3]) and (len(line) == 3 or line[3] == text[3])
        if not named or (number > 1 and line.startswith("MSH")):
            name = re.sub(r"[^A-Z0-9]", "", line[:3].upper()) or "MSH"
            raise rejected(e.SEGMENT_SEQUENCE,
                           f"line {number} is not an HL7 segment of this message: "
                           f"{line[:20]!r} (corrupted or two messages run together?)",
                           Location(name))  # fmt: skip
    try:
        message = parse_message(text, validation_level=VALIDATION_LEVEL.TOLERANT,
                                find_groups=False)  # fmt: skip
    except (HL7apyException, ValueError, TypeError, KeyError, IndexError) as exc:
        raise rejected(e.DATA_TYPE_ERROR, f"the message cannot be read: {exc}"[:200],
                       Location("MSH")) from None  # fmt: skip
    segments = list(message.children)
    names = [s.name for s in segments]
    trigger = header.trigger
    _check_segments(names, trigger)
    reader = _Reader(text)
    locations: dict[str, Location] = {"establishment": Location("MSH", 1, 6)}
    by_name = {name: segments[names.index(name)] for name in REQUIRED[trigger]}
    evn = by_name["EVN"]
    occurred = _optional_datetime(reader, evn, 6, "EVN", "event occurred")
    patient = _patient(reader, by_name["PID"], trigger, locations)
    facilities: list[tuple[str, str]] = []
    for value in header.receiving_facility.split(reader.comp)[:2]:  # HD-1, HD-2
        finess = _finess(reader.unescape(value)) if value else None
        if finess and ("MSH-6", finess) not in facilities:
            facilities.append(("MSH-6", finess))
    visit = None
    if "PV1" in by_name:
        pv2 = segments[names.index("PV2")] if "PV2" in names else None
        visit, facility = _visit(reader, by_name["PV1"], pv2, trigger, occurred, locations)
        if facility and ("PV1-3", facility) not in facilities:
            facilities.append(("PV1-3", facility))
    merged_ipp = None
    if trigger == "A40":
        merged_ipp = _merged(reader, by_name["MRG"], locations)
    feed = FeedMessage(
        trigger=trigger, control_id=header.control_id, sender=header.sender,
        facilities=tuple(facilities), patient=patient, visit=visit, merged_ipp=merged_ipp,
    )  # fmt: skip
    return ParsedMessage(header=header, message=feed, locations=locations)


def _check_header(text: str, header: Header) -> None:
    msh = text.split("\r", 1)[0].split(text[3])
    kind = msh[8].split(text[4]) if len(msh) > 8 else [""]
    if not kind[0]:
        raise rejected(e.REQUIRED_FIELD_MISSING, "MSH-9 (message type) is missing",
                       Location("MSH", 1, 9, component=1))  # fmt: skip
    if kind[0] != "ADT":
        raise rejected(e.UNSUPPORTED_MESSAGE_TYPE,
                       f"message type {kind[0]} is not supported (ADT only)",
                       Location("MSH", 1, 9, component=1))  # fmt: skip
    if header.trigger not in SUPPORTED_EVENTS:
        raise rejected(
            e.UNSUPPORTED_EVENT,
            f"event {header.trigger or '(none)'} is not supported (A01, A03, A04, A08, A40)",
            Location("MSH", 1, 9, component=2),
        )
    if not header.control_id.strip():
        raise rejected(e.REQUIRED_FIELD_MISSING, "MSH-10 (message control id) is missing",
                       Location("MSH", 1, 10))  # fmt: skip
    if header.processing_id.split(text[4])[0] not in PROCESSING_IDS:
        raise rejected(e.UNSUPPORTED_PROCESSING_ID,
                       f"processing id {header.processing_id!r} is not P, T or D",
                       Location("MSH", 1, 11))  # fmt: skip
    version = header.version.split(text[4])[0]
    if version not in SUPPORTED_VERSIONS:
        raise rejected(e.UNSUPPORTED_VERSION,
                       f"version {version or '(none)'} is not supported (2.5)",
                       Location("MSH", 1, 12))  # fmt: skip


def _check_segments(names: list[str], trigger: str) -> None:
    required = REQUIRED[trigger]
    position = -1
    for name in required:
        if name not in names:
            raise rejected(e.SEGMENT_SEQUENCE,
                           f"required segment {name} is missing (truncated message?)",
                           Location(name))  # fmt: skip
        found = names.index(name)
        if found < position:
            raise rejected(e.SEGMENT_SEQUENCE, f"segment {name} is out of order",
                           Location(name))  # fmt: skip
        position = found
    for name in ("PID", "PV1", "MRG"):
        if names.count(name) > 1:
            raise rejected(e.SEGMENT_SEQUENCE,
                           f"segment {name} appears {names.count(name)} times (one patient and "
                           "one visit per message)", Location(name, 2))  # fmt: skip


def _optional_datetime(reader: _Reader, segment: Any, number: int, name: str,
                       what: str) -> datetime | None:  # fmt: skip
    reps = _repetitions(segment, number)
    value = reader.text(reps[0]) if reps else ""
    if not value:
        return None
    return parse_datetime(value, Location(name, 1, number), what=what)


def _patient(reader: _Reader, pid: Any, trigger: str,
             locations: dict[str, Location]) -> FeedPatient:  # fmt: skip
    ipp, ins = None, None
    for i, rep in enumerate(_repetitions(pid, 3), start=1):
        value = reader.text(_component(rep, "CX", 1))
        kind = reader.text(_component(rep, "CX", 5)).upper()
        authority = reader.subcomponents(_component(rep, "CX", 4))
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
    sex_reps = _repetitions(pid, 8)
    raw_sex = reader.text(sex_reps[0]) if sex_reps else ""
    if raw_sex:
        if raw_sex.upper() not in SEX:
            raise rejected(e.TABLE_VALUE_NOT_FOUND,
                           f"sex {raw_sex!r} is not in HL7 table 0001 (F, M, U, A, N, O)",
                           Location("PID", 1, 8))  # fmt: skip
        sex = SEX[raw_sex.upper()]
        locations["sex"] = Location("PID", 1, 8)
    birth_date = None
    birth_reps = _repetitions(pid, 7)
    raw_birth = reader.text(birth_reps[0]) if birth_reps else ""
    if raw_birth:
        locations["birth_date"] = Location("PID", 1, 7)
        birth_date = parse_date(raw_birth, locations["birth_date"], what="birth date")
    contact, birth_place = _contact(reader, pid, locations)
    return FeedPatient(
        ipp=ipp, ins=ins, birth_name=names.get("birth_name"),
        birth_first_names=names.get("birth_first_names"),
        used_name=names.get("used_name"),
        used_first_name=names.get("used_first_name"),
        sex=sex, birth_date=birth_date, birth_place_code=birth_place, contact=contact,
    )  # fmt: skip


def _names(reader: _Reader, pid: Any, locations: dict[str, Location]) -> dict[str, Any]:
    reps = _repetitions(pid, 5)
    if not reps or not any(reader.text(_component(r, "XPN", 1)) for r in reps):
        raise rejected(e.REQUIRED_FIELD_MISSING, "PID-5 (patient name) is missing",
                       Location("PID", 1, 5, 1, 1))  # fmt: skip
    found: dict[str, Any] = {}
    typed = [reader.text(_component(r, "XPN", 7)).upper() for r in reps]
    birth_index = typed.index("L") if "L" in typed else (typed.index("") if "" in typed else None)
    for i, rep in enumerate(reps, start=1):
        family = reader.text(_component(rep, "XPN", 1))
        given = reader.text(_component(rep, "XPN", 2))
        further = reader.text(_component(rep, "XPN", 3))
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


def _hl7_null(value: str) -> bool:
    return value == '""'


def _contact(
    reader: _Reader, pid: Any, locations: dict[str, Location]
) -> tuple[dict[str, str], str | None]:
    contact: dict[str, str] = {}
    birth_place = None
    home_done = False
    for i, rep in enumerate(_repetitions(pid, 11), start=1):
        kind = reader.text(_component(rep, "XAD", 7)).upper()
        if kind == "BDL":
            code = reader.text(_component(rep, "XAD", 9))
            if code and not _hl7_null(code):
                birth_place = code
                locations["birth_place_code"] = Location("PID", 1, 11, i, 9)
            continue
        if home_done or kind not in ("", "H", "L", "M", "P"):
            continue
        home_done = True
        street = reader.text(_component(rep, "XAD", 1))
        other = reader.text(_component(rep, "XAD", 2))
        lines = [v for v in (street, other) if v and not _hl7_null(v)]
        city = reader.text(_component(rep, "XAD", 3))
        postal = reader.text(_component(rep, "XAD", 5))
        contact["address_line"] = ", ".join(lines)
        contact["city"] = "" if _hl7_null(city) else city
        contact["postal_code"] = "" if _hl7_null(postal) else postal
        locations["address_line"] = Location("PID", 1, 11, i, 1)
        locations["city"] = Location("PID", 1, 11, i, 3)
        locations["postal_code"] = Location("PID", 1, 11, i, 5)
    for i, rep in enumerate(_repetitions(pid, 13), start=1):
        use = reader.text(_component(rep, "XTN", 2)).upper()
        equipment = reader.text(_component(rep, "XTN", 3)).upper()
        email = reader.text(_component(rep, "XTN", 4))
        number = (
            reader.text(_component(rep, "XTN", 12))
            or reader.text(_component(rep, "XTN", 1))
            or reader.text(_component(rep, "XTN", 6)) + reader.text(_component(rep, "XTN", 7))
        )
        if use == "NET" or equipment in ("INTERNET", "X.400") or (email and not number):
            if "email" not in contact:
                contact["email"] = "" if _hl7_null(email) else email
                locations["email"] = Location("PID", 1, 13, i, 4)
        elif number:
            name = "phone_mobile" if equipment == "CP" else "phone_home"
            if name not in contact:
                contact[name] = "" if _hl7_null(number) else number
                locations[name] = Location("PID", 1, 13, i, 1)
    return contact, birth_place


def _visit(
    reader: _Reader, pv1: Any, pv2: Any, trigger: str, occurred: datetime | None,
    locations: dict[str, Location],
) -> tuple[FeedVisit, str | None]:  # fmt: skip
    class_reps = _repetitions(pv1, 2)
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
    location = _repetitions(pv1, 3)
    unit = bed = facility = None
    if location:
        unit = reader.text(_component(location[0], "PL", 1)) or None
        room = reader.text(_component(location[0], "PL", 2))
        bed_value = reader.text(_component(location[0], "PL", 3))
        bed = (f"{room}-{bed_value}" if room and bed_value else bed_value) or None
        hd = reader.subcomponents(_component(location[0], "PL", 4))
        for value in hd[:2]:
            facility = facility or _finess(value)
    locations["department"] = locations["department_id"] = Location("PV1", 1, 3, 1, 1)
    locations["bed"] = Location("PV1", 1, 3, 1, 3)
    doctor = None
    for number in (7, 17):
        reps = _repetitions(pv1, number)
        if reps and reader.text(_component(reps[0], "XCN", 1)):
            doctor = reader.text(_component(reps[0], "XCN", 1))
            locations["responsible"] = locations["responsible_id"] = Location("PV1", 1, number,
                                                                              1, 1)  # fmt: skip
            break
    locations.setdefault("responsible", Location("PV1", 1, 7))
    locations.setdefault("responsible_id", Location("PV1", 1, 7))
    visit_reps = _repetitions(pv1, 19)
    visit_number = reader.text(_component(visit_reps[0], "CX", 1)) if visit_reps else None
    locations["encounter"] = locations["encounter_id"] = Location("PV1", 1, 19)
    admit_at = _optional_datetime(reader, pv1, 44, "PV1", "admit date/time")
    discharge_at = _optional_datetime(reader, pv1, 45, "PV1", "discharge date/time")
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
    disposition = _repetitions(pv1, 36)
    raw_destination = reader.text(disposition[0]).lower() if disposition else ""
    destination = None
    if raw_destination:
        destination = raw_destination if raw_destination in DESTINATIONS else "other"
    locations["destination"] = Location("PV1", 1, 36)
    reason = None
    if pv2 is not None:
        reps = _repetitions(pv2, 3)
        if reps:
            reason = (reader.text(_component(reps[0], "CE", 2))
                      or reader.text(_component(reps[0], "CE", 1)) or None)  # fmt: skip
            locations["reason"] = Location("PV2", 1, 3)
    visit = FeedVisit(
        department_code=unit, bed=bed, responsible_rpps=doctor, admit_at=admit_at,
        discharge_at=discharge_at, visit_number=visit_number or None, reason=reason,
        destination=destination,
    )  # fmt: skip
    return visit, facility


def _merged(reader: _Reader, mrg: Any, locations: dict[str, Location]) -> str:
    reps = _repetitions(mrg, 1)
    for i, rep in enumerate(reps, start=1):
        kind = reader.text(_component(rep, "CX", 5)).upper()
        value = reader.text(_component(rep, "CX", 1))
        if value and kind in ("PI", ""):
            locations["merged_ipp"] = locations["merged_id"] = Location("MRG", 1, 1, i, 1)
            return value
    raise rejected(e.REQUIRED_FIELD_MISSING,
                   "MRG-1 (the merged identity's IPP, type PI) is missing",
                   Location("MRG", 1, 1, 1, 1))  # fmt: skip
