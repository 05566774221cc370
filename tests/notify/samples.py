"""A typical alert for the delivery tests, and the name that must never show in one."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hygie.notify import AlertMessage

AT = datetime(2025, 3, 14, 9, 26, 53, 589793, tzinfo=UTC)
# The patient whose records were harvested: the alert only counts them.
PATIENT_NAME = "DUPONT"


def make_alert(**changes: Any) -> AlertMessage:
    fields: dict[str, Any] = {
        "alert_id": 12,
        "at": AT,
        "severity": "critical",
        "rule": "records.1m",
        "username": "dr.martin",
        "user_id": 7,
        "establishment_id": 3,
        "response": "contain",
        "summary": "account dr.martin contained",
        "evidence": {"distinct_patients": 212, "window_s": 60, "event_ids": [901, 902, 977]},
    }
    return AlertMessage(**{**fields, **changes})
