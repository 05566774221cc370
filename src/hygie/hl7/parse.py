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

from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.exceptions import HL7apyException
from hl7apy.parser import parse_message

from hygie.access.feed import FeedMessage
from hygie.hl7 import errors as e
from hygie.hl7.errors import Location, rejected
from hygie.hl7.segments import read_merged, read_patient, read_visit
from hygie.hl7.values import Reader, finess_of, optional_datetime

SUPPORTED_EVENTS = ("A01", "A03", "A04", "A08", "A40")
SUPPORTED_VERSIONS = ("2.5", "2.5.1")
PROCESSING_IDS = ("P", "T", "D")

# The segments each event needs, in the order they must come.
REQUIRED = {
    "A01": ("MSH", "EVN", "PID", "PV1"),
    "A03": ("MSH", "EVN", "PID", "PV1"),
    "A04": ("MSH", "EVN", "PID", "PV1"),
    "A08": ("MSH", "EVN", "PID", "PV1"),
    "A40": ("MSH", "EVN", "PID", "MRG"),
}
_SEGMENT = re.compile(r"^[A-Z][A-Z0-9]{2}$")


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
    reader = Reader(text)
    locations: dict[str, Location] = {"establishment": Location("MSH", 1, 6)}
    by_name = {name: segments[names.index(name)] for name in REQUIRED[trigger]}
    evn = by_name["EVN"]
    occurred = optional_datetime(reader, evn, 6, "EVN", "event occurred")
    patient = read_patient(reader, by_name["PID"], trigger, locations)
    facilities: list[tuple[str, str]] = []
    for value in header.receiving_facility.split(reader.comp)[:2]:  # HD-1, HD-2
        finess = finess_of(reader.unescape(value)) if value else None
        if finess and ("MSH-6", finess) not in facilities:
            facilities.append(("MSH-6", finess))
    visit = None
    if "PV1" in by_name:
        pv2 = segments[names.index("PV2")] if "PV2" in names else None
        visit, facility = read_visit(reader, by_name["PV1"], pv2, trigger, occurred, locations)
        if facility and ("PV1-3", facility) not in facilities:
            facilities.append(("PV1-3", facility))
    merged_ipp = None
    if trigger == "A40":
        merged_ipp = read_merged(reader, by_name["MRG"], locations)
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
