"""Time helpers: Hygie stores UTC and reasons about days in Europe/Paris."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")


def local_date(moment: datetime) -> date:
    """The calendar day of ``moment`` in Paris (habilitations and schedules are by day)."""
    return moment.astimezone(PARIS).date()


def paris_midnight(day: date | None) -> datetime | None:
    """The start of ``day`` in Paris, in UTC (None stays None): a day-bounded period's edge."""
    return None if day is None else datetime.combine(day, time(0), tzinfo=PARIS).astimezone(UTC)
