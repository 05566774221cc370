"""RFC 5424 (syslog) pieces shared by the trail's export and the alerts sent to syslog."""

from __future__ import annotations

SYSLOG_SD_ID = "hygie@32473"  # 32473: the private enterprise number RFC 5612 sets aside


def syslog_token(value: str, limit: int) -> str:
    """A header field: printable US-ASCII without spaces, or ``-``."""
    token = "".join(c if 33 <= ord(c) <= 126 else "_" for c in value)[:limit]
    return token or "-"


def no_controls(value: str) -> str:
    return "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in value)


def sd_escape(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("]", "\\]")
    return no_controls(escaped)
