"""Break-the-glass through FHIR: a read refused only for want of a care relationship is
retried once the gate has granted the break-the-glass the request asked for (reason code
and text in headers). The trail then shows the refusal, the grant (flagged for review by a
security officer, visible in the patient's access history) and the read."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from hygie.access import gateway
from hygie.access.actor import Actor
from hygie.access.gateway import AccessDenied
from hygie.db import Database
from hygie.fhir.deps import GlassRequest

T = TypeVar("T")


def through_glass(
    db: Database, actor: Actor, glass: GlassRequest | None, read: Callable[[], T]
) -> T:
    try:
        return read()
    except AccessDenied as refused:
        if glass is None or not refused.break_glass_possible or refused.patient_id is None:
            raise
        gateway.break_glass(
            db, actor, patient_id=refused.patient_id, reason_code=glass.reason_code,
            reason_text=glass.reason_text,
        )  # fmt: skip
    return read()
