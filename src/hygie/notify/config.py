"""Which channels alerts go to, read from the environment.

A security alert that silently goes nowhere is worse than a server that refuses to start,
so a malformed or incomplete setting (an address without the SMTP server, a secret without
its webhook) raises ``ConfigurationError`` naming the variable, instead of being ignored.
No variable set means no channel: alerts are then only stored in the database.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from urllib.parse import urlsplit

from hygie.errors import ConfigurationError
from hygie.notify.channels import Channel, SmtpChannel, SyslogChannel, WebhookChannel

WEBHOOK_URL = "HYGIE_ALERT_WEBHOOK_URL"
WEBHOOK_SECRET = "HYGIE_ALERT_WEBHOOK_SECRET"  # noqa: S105 (a variable name)
SMTP = "HYGIE_ALERT_SMTP"
SMTP_FROM = "HYGIE_ALERT_SMTP_FROM"
EMAIL_TO = "HYGIE_ALERT_EMAIL_TO"
SMTP_STARTTLS = "HYGIE_ALERT_SMTP_STARTTLS"
SMTP_USER = "HYGIE_ALERT_SMTP_USER"
SMTP_PASSWORD = "HYGIE_ALERT_SMTP_PASSWORD"  # noqa: S105 (a variable name)
SYSLOG = "HYGIE_ALERT_SYSLOG"

DEFAULT_SENDER = "hygie@localhost"
_ADDRESS = re.compile(r"[^@\s<>,;]+@[^@\s<>,;]+")


def channels_from_env(environ: Mapping[str, str] = os.environ) -> list[Channel]:
    """The channels the ``HYGIE_ALERT_*`` variables configure, in a fixed order (webhook,
    e-mail, syslog). An empty variable counts as unset."""
    found = (_webhook(environ), _smtp(environ), _syslog(environ))
    return [channel for channel in found if channel is not None]


def _get(environ: Mapping[str, str], name: str) -> str | None:
    return environ.get(name, "").strip() or None


def _refuse_without(environ: Mapping[str, str], main: str, dependents: tuple[str, ...]) -> None:
    for name in dependents:
        if _get(environ, name) is not None:
            raise ConfigurationError(f"is set but {main} is not", field=name)


def _webhook(environ: Mapping[str, str]) -> WebhookChannel | None:
    url = _get(environ, WEBHOOK_URL)
    if url is None:
        _refuse_without(environ, WEBHOOK_URL, (WEBHOOK_SECRET,))
        return None
    try:
        return WebhookChannel(url, secret=_get(environ, WEBHOOK_SECRET))
    except ValueError as error:
        raise ConfigurationError(str(error), field=WEBHOOK_URL) from error


def _smtp(environ: Mapping[str, str]) -> SmtpChannel | None:
    server = _get(environ, SMTP)
    if server is None:
        dependents = (EMAIL_TO, SMTP_FROM, SMTP_STARTTLS, SMTP_USER, SMTP_PASSWORD)
        _refuse_without(environ, SMTP, dependents)
        return None
    host, port = _host_port(server, SMTP)
    sender = _address(_get(environ, SMTP_FROM) or DEFAULT_SENDER, SMTP_FROM)
    recipients = _recipients(environ)
    starttls = _flag(environ, SMTP_STARTTLS)
    user, password = _get(environ, SMTP_USER), _get(environ, SMTP_PASSWORD)
    if user is None and password is not None:
        raise ConfigurationError(f"is set but {SMTP_USER} is not", field=SMTP_PASSWORD)
    if user is not None and password is None:
        raise ConfigurationError(f"is set but {SMTP_PASSWORD} is not", field=SMTP_USER)
    if user is not None and not starttls:
        message = f"needs {SMTP_STARTTLS}=1: a password is never sent in clear"
        raise ConfigurationError(message, field=SMTP_USER)
    return SmtpChannel(
        host, port, sender=sender, recipients=recipients, starttls=starttls,
        username=user, password=password,
    )  # fmt: skip


def _recipients(environ: Mapping[str, str]) -> list[str]:
    parts = (_get(environ, EMAIL_TO) or "").split(",")
    recipients = [_address(part.strip(), EMAIL_TO) for part in parts if part.strip()]
    if not recipients:
        raise ConfigurationError(f"is required when {SMTP} is set", field=EMAIL_TO)
    return recipients


def _address(value: str, name: str) -> str:
    if not _ADDRESS.fullmatch(value):
        raise ConfigurationError(f"{value!r} is not an e-mail address", field=name)
    return value


def _flag(environ: Mapping[str, str], name: str) -> bool:
    value = _get(environ, name) or "0"
    if value not in ("0", "1"):
        raise ConfigurationError(f"{value!r} must be 1 or 0", field=name)
    return value == "1"


def _host_port(value: str, name: str) -> tuple[str, int]:
    found = _split_host_port(value)
    if found is None:
        raise ConfigurationError(f"{value!r} is not host:port", field=name)
    return found


def _split_host_port(value: str) -> tuple[str, int] | None:
    """``host:port``, with an IPv6 address in brackets (``[::1]:25``); None if malformed."""
    host, _, port = value.rpartition(":")
    bracketed = host.startswith("[") and host.endswith("]")
    host = host[1:-1] if bracketed else host
    if not re.fullmatch(r"[^\s/\[\]@]+", host) or not _is_port(port):
        return None
    if ":" in host and not bracketed:
        return None
    return host, int(port)


def _is_port(value: str) -> bool:
    return bool(re.fullmatch(r"[0-9]{1,5}", value)) and 1 <= int(value) <= 65535


def _syslog(environ: Mapping[str, str]) -> SyslogChannel | None:
    value = _get(environ, SYSLOG)
    if value is None:
        return None
    parts = urlsplit(value)
    found = _split_host_port(parts.netloc)
    extra = parts.path not in ("", "/") or parts.query or parts.fragment
    if parts.scheme not in ("udp", "tcp") or found is None or extra:
        raise ConfigurationError(
            f"{value!r} is not udp://host:port or tcp://host:port", field=SYSLOG
        )
    host, port = found
    return SyslogChannel(host, port, protocol="tcp" if parts.scheme == "tcp" else "udp")
