"""Time helpers: Hygie stores UTC and reasons about days in Europe/Paris."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")


def local_date(moment: datetime) -> date:
    """The calendar day of ``moment`` in Paris (habilitations and schedules are by day)."""
    return moment.astimezone(PARIS).date()
