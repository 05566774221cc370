"""HL7 v2.5 acknowledgements (ACK), built with hl7apy.

MSA-1 is AA (accepted), AE (application error) or AR (rejected); MSA-2 echoes the control
id of the message answered; MSA-3 says what happened in a line. A refusal adds an ERR
segment: ERR-2 where (segment^sequence^field^repetition^component), ERR-3 the HL7 table
0357 code, ERR-4 the severity (E), ERR-8 the text for the person who reads the log."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.core import Message, Segment

from hygie.hl7.errors import CODE_TEXT, Hl7Error
from hygie.hl7.parse import Header

APPLICATION = "HYGIE"
_counter = itertools.count(1)


def escape(text: str) -> str:
    """Text made safe for an ER7 field with the standard separators."""
    out = text.replace("\\", "\\E\\")
    for char, code in (("|", "F"), ("^", "S"), ("&", "T"), ("~", "R")):
        out = out.replace(char, f"\\{code}\\")
    return " ".join(out.split())  # no CR/LF inside a field


def build_ack(
    header: Header, code: str, text: str, error: Hl7Error | None = None,
    *, now: datetime | None = None,
) -> str:  # fmt: skip
    """The acknowledgement of the message ``header`` describes, as ER7 (CR-separated)."""
    now = now or datetime.now(UTC)
    ack = Message("ACK", version="2.5", validation_level=VALIDATION_LEVEL.TOLERANT)
    msh = ack.msh
    msh.msh_3 = escape(header.receiving_application or APPLICATION) or APPLICATION
    if header.receiving_facility:
        msh.msh_4 = escape(header.receiving_facility.split("^")[0])
    if header.sending_application:
        msh.msh_5 = escape(header.sending_application.split("^")[0])
    if header.sending_facility:
        msh.msh_6 = escape(header.sending_facility.split("^")[0])
    msh.msh_7 = now.strftime("%Y%m%d%H%M%S") + "+0000"
    msh.msh_9 = f"ACK^{header.trigger}^ACK" if header.trigger else "ACK"
    msh.msh_10 = f"ACK{now:%Y%m%d%H%M%S}{next(_counter):06d}"
    msh.msh_11 = (
        header.processing_id.split("^")[0] if header.processing_id in ("P", "T", "D") else "P"
    )
    msh.msh_12 = "2.5"
    ack.msa.msa_1 = code
    if header.control_id:
        ack.msa.msa_2 = escape(header.control_id)
    ack.msa.msa_3 = escape(text)[:80] if text else ""
    if error is not None:
        err = Segment("ERR", version="2.5")
        if error.location is not None:
            err.err_2 = error.location.er7()
        err.err_3 = f"{error.code}^{escape(CODE_TEXT.get(error.code, ''))}^HL70357"
        err.err_4 = "E"
        err.err_8 = escape(error.text)[:250]
        ack.add(err)
    return str(ack.to_er7())
