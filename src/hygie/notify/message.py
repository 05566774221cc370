"""What a security alert says when it leaves Hygie.

An alert travels to places Hygie does not control (a chat webhook, a mailbox, a SIEM), so
it carries only what a security officer needs to decide what to do next: which rule fired,
on which account and establishment, what the gate did, and the figures and event ids that
back it. It NEVER carries a patient's name, identifier or clinical content: the evidence
handed over by the containment code is already minimised to counts and audit event ids, and
whoever wants to see more follows the event ids into the trail, which is itself audited.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

SEVERITIES = ("info", "warning", "high", "critical")


@dataclass(frozen=True)
class AlertMessage:
    """One alert, as delivered to every channel.

    ``evidence`` must be JSON-able and hold only figures and ids (counts of distinct
    patients, window lengths, audit event ids): never names, NIRs or clinical text. It is
    copied into a read-only mapping, so a message cannot change after it was submitted.
    ``rule``, ``response`` and ``summary`` are kept to one line.
    """

    alert_id: int
    at: datetime
    severity: str
    rule: str
    username: str | None
    user_id: int | None
    establishment_id: int | None
    response: str
    summary: str
    evidence: Mapping[str, Any]

    def __post_init__(self) -> None:
        # Checked here, at the caller, because a bad message would otherwise only fail in
        # the delivery thread, where nobody sees the error.
        _check_utc(self.at)
        if self.severity not in SEVERITIES:
            raise ValueError(f"severity {self.severity!r} is not one of {', '.join(SEVERITIES)}")
        for name in ("rule", "response", "summary"):
            object.__setattr__(self, name, _one_line(name, getattr(self, name)))
        # A JSON round trip both refuses what no channel could send (TypeError, ValueError)
        # and copies the evidence deeply, so that it cannot change once submitted.
        evidence = json.loads(json.dumps(dict(self.evidence), allow_nan=False))
        object.__setattr__(self, "at", self.at.astimezone(UTC))
        object.__setattr__(self, "evidence", MappingProxyType(evidence))

    def as_json(self) -> dict[str, Any]:
        """The message as a JSON-able dict (the webhook body; ``at`` in ISO 8601 UTC)."""
        return {
            "alert_id": self.alert_id,
            "at": iso_utc(self.at),
            "severity": self.severity,
            "rule": self.rule,
            "username": self.username,
            "user_id": self.user_id,
            "establishment_id": self.establishment_id,
            "response": self.response,
            "summary": self.summary,
            "evidence": dict(self.evidence),
        }

    def subject(self) -> str:
        """One line that tells the reader of an inbox how urgent the alert is and why."""
        return (
            f"[Hygie] {self.severity.upper()} alert #{self.alert_id}: {self.rule} — {self.summary}"
        )


def iso_utc(moment: datetime) -> str:
    """``moment`` as ISO 8601 in UTC with a ``Z``, to the microsecond (RFC 3339, which
    syslog's RFC 5424 timestamps also follow)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _check_utc(moment: datetime) -> None:
    """A naive time is refused, since nobody could tell which zone it was meant in; any
    other zone is accepted (and converted to UTC): it still says when it happened."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("at must be timezone-aware (Hygie keeps times in UTC)")


def _one_line(name: str, value: str) -> str:
    """``value`` as one line of printable text. Subjects, syslog lines and chat messages are
    single lines: a line break would be refused by the mail library or forge a second
    syslog record, so control characters become spaces (rather than an error, which would
    keep the alert from going out)."""
    line = "".join(c if c.isprintable() else " " for c in value).strip()
    if not line:
        raise ValueError(f"{name} must not be empty")
    return line
