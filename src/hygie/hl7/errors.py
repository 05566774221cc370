"""Why a message is refused, said the way an HL7 v2.5 acknowledgement says it."""

from __future__ import annotations

from dataclasses import dataclass

# HL7 table 0357 (message error condition codes), the ones this feed uses.
SEGMENT_SEQUENCE = "100"
REQUIRED_FIELD_MISSING = "101"
DATA_TYPE_ERROR = "102"
TABLE_VALUE_NOT_FOUND = "103"
UNSUPPORTED_MESSAGE_TYPE = "200"
UNSUPPORTED_EVENT = "201"
UNSUPPORTED_PROCESSING_ID = "202"
UNSUPPORTED_VERSION = "203"
UNKNOWN_KEY = "204"
DUPLICATE_KEY = "205"
APPLICATION_ERROR = "207"

CODE_TEXT = {
    SEGMENT_SEQUENCE: "Segment sequence error",
    REQUIRED_FIELD_MISSING: "Required field missing",
    DATA_TYPE_ERROR: "Data type error",
    TABLE_VALUE_NOT_FOUND: "Table value not found",
    UNSUPPORTED_MESSAGE_TYPE: "Unsupported message type",
    UNSUPPORTED_EVENT: "Unsupported event code",
    UNSUPPORTED_PROCESSING_ID: "Unsupported processing id",
    UNSUPPORTED_VERSION: "Unsupported version id",
    UNKNOWN_KEY: "Unknown key identifier",
    DUPLICATE_KEY: "Duplicate key identifier",
    APPLICATION_ERROR: "Application internal error",
}


@dataclass(frozen=True)
class Location:
    """ERR-2 (ERL): a segment, its occurrence in the message (1-based), a field, and
    optionally the repetition and component."""

    segment: str
    sequence: int = 1
    field: int | None = None
    repetition: int | None = None
    component: int | None = None

    def er7(self) -> str:
        parts = [self.segment, str(self.sequence)]
        if self.field is not None:
            parts.append(str(self.field))
            if self.repetition is not None or self.component is not None:
                parts.append(str(self.repetition or 1))
            if self.component is not None:
                parts.append(str(self.component))
        return "^".join(parts)

    def __str__(self) -> str:
        text = f"{self.segment}-{self.field}" if self.field is not None else self.segment
        if self.component is not None:
            text += f".{self.component}"
        return text


class Hl7Error(Exception):
    """A message refused: ``AR`` (rejected: unreadable, truncated, unsupported, a required
    segment or field missing) or ``AE`` (application error: unknown patient, refused by
    the rules or the gate), with the HL7 0357 code and where in the message."""

    def __init__(self, ack: str, code: str, text: str, location: Location | None = None) -> None:
        super().__init__(text)
        self.ack, self.code, self.text, self.location = ack, code, text, location

    def __str__(self) -> str:
        return f"{self.location}: {self.text}" if self.location else self.text


def rejected(code: str, text: str, location: Location | None = None) -> Hl7Error:
    return Hl7Error("AR", code, text, location)
