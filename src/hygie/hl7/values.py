"""Values out of hl7apy's elements: unescaped text, repetitions and components by number,
HL7 dates and times (Paris time when no offset is given), FINESS numbers."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from hl7apy.exceptions import HL7apyException

from hygie.errors import ValidationError
from hygie.hl7 import errors as e
from hygie.hl7.errors import Location, rejected
from hygie.kit.identifiers import parse_finess

PARIS = ZoneInfo("Europe/Paris")
_DTM = re.compile(
    r"^(\d{4})(\d{2})(\d{2})(?:(\d{2})(\d{2})(?:(\d{2})(?:\.\d{1,4})?)?)?([+-]\d{4})?$"
)


class Reader:
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


def repetitions(segment: Any, number: int) -> list[Any]:
    name = f"{segment.name.lower()}_{number}"
    try:
        return list(getattr(segment, name))
    except (HL7apyException, AttributeError, IndexError):
        return []


def component(rep: Any, datatype: str, number: int) -> Any:
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


def finess_of(value: str) -> str | None:
    try:
        return parse_finess(value)
    except ValidationError:
        return None


def optional_datetime(reader: Reader, segment: Any, number: int, name: str,
                       what: str) -> datetime | None:  # fmt: skip
    reps = repetitions(segment, number)
    value = reader.text(reps[0]) if reps else ""
    if not value:
        return None
    return parse_datetime(value, Location(name, 1, number), what=what)


def hl7_null(value: str) -> bool:
    """HL7's explicit null (``""``): the value is to be cleared."""
    return value == '""'
