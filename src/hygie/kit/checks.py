"""Type and range guards for service arguments.

Services are called from the CLI, the API, HL7 feeds and tests; a wrong type or an absurd
value must come back as a ValidationError naming the field, never as a TypeError or a
database error."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hygie.errors import ValidationError

MAX_ID = 2**63 - 1
# Care events are dated within this horizon around now.
PAST_HORIZON = timedelta(days=365 * 130)
FUTURE_HORIZON = timedelta(days=365 * 5)


def check_int(value: object, *, field: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError("must be a whole number", field=field)
    if not low <= value <= high:
        raise ValidationError(f"must be between {low} and {high}", field=field)
    return value


def check_id(value: object, *, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError("must be a numeric id", field=field)
    if not 1 <= value <= MAX_ID:
        raise ValidationError("is not a valid id", field=field)
    return value


def check_day(value: object, *, field: str) -> date:
    """A calendar date (not a datetime)."""
    if isinstance(value, datetime) or not isinstance(value, date):
        raise ValidationError("must be a date (YYYY-MM-DD)", field=field)
    return value


def check_moment(value: object, *, field: str, now: datetime | None = None) -> datetime:
    """A timezone-aware instant within a sane horizon of now."""
    if not isinstance(value, datetime):
        raise ValidationError("must be a date and time", field=field)
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValidationError("needs a time zone", field=field)
    now = now or datetime.now(UTC)
    if not now - PAST_HORIZON <= value <= now + FUTURE_HORIZON:
        raise ValidationError("is too far in the past or the future", field=field)
    return value
