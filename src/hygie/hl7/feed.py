"""One HL7 message in, one acknowledgement out: read and check it (:mod:`parse`), hand it
to the gate (:func:`hygie.access.feed.apply_message`), translate the outcome into
AA / AE / AR (:mod:`ack`). Shared by ``hygie hl7 import`` and ``hygie hl7 listen``.

Every message leaves its event in the trail: applied (allowed), refused by the gate
(denied), refused by the rules (failed) or unreadable (failed, ``hl7.message``)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from hygie.access.feed import FeedAccount, apply_message, record_unreadable
from hygie.access.gateway import AccessDenied
from hygie.db import Database
from hygie.errors import ConflictError, HygieError, NotFoundError
from hygie.hl7 import errors as e
from hygie.hl7.ack import build_ack
from hygie.hl7.errors import Hl7Error, Location
from hygie.hl7.parse import Header, ParsedMessage, parse, read_header

LOG = logging.getLogger("hygie.hl7")


@dataclass(frozen=True)
class Outcome:
    code: str  # AA, AE, AR
    control_id: str
    text: str
    ack: str  # the acknowledgement, ER7 with CR between segments
    error: Hl7Error | None = None


def handle(db: Database, account: FeedAccount, raw: str) -> Outcome:
    """Apply one message and return its acknowledgement."""
    header = read_header(raw)
    try:
        parsed = parse(raw)
    except Hl7Error as refused:
        record_unreadable(db, account, control_id=header.control_id or None,
                          trigger=header.trigger or None, sender=header.sender or None,
                          reason=str(refused)[:500])  # fmt: skip
        return _refusal(header, refused)
    try:
        result = apply_message(db, account, parsed.message)
    except HygieError as exc:
        return _refusal(header, _translate(exc, parsed))
    except Exception:  # never a stack trace to the sender; the log keeps it
        LOG.exception("HL7 message %s could not be applied", header.control_id)
        failure = Hl7Error("AE", e.APPLICATION_ERROR, "internal error: nothing was applied")
        return _refusal(header, failure)
    text = f"accepted: {result.summary}"
    return Outcome("AA", header.control_id, text, build_ack(header, "AA", text))


def _refusal(header: Header, error: Hl7Error) -> Outcome:
    text = ("rejected: " if error.ack == "AR" else "error: ") + str(error)
    return Outcome(error.ack, header.control_id, text, build_ack(header, error.ack, text, error),
                   error)  # fmt: skip


def _translate(exc: HygieError, parsed: ParsedMessage) -> Hl7Error:
    """A refusal of the gate or the domain, as an application error at its place."""
    where: Location | None = parsed.locations.get(exc.field or "")
    if isinstance(exc, AccessDenied):
        return Hl7Error("AE", e.APPLICATION_ERROR, f"refused: {exc.message}",
                        where or Location("MSH", 1, 6))  # fmt: skip
    if isinstance(exc, NotFoundError):
        return Hl7Error("AE", e.UNKNOWN_KEY, exc.message, where)
    if isinstance(exc, ConflictError) and exc.field in ("nir", "ins"):
        return Hl7Error("AE", e.DUPLICATE_KEY, exc.message, where)
    label = f"{exc.field}: " if exc.field and where is None else ""
    return Hl7Error("AE", e.APPLICATION_ERROR, f"{label}{exc.message}", where)
