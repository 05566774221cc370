"""The places an alert can be sent: a webhook, a mailbox (SMTP) and a syslog collector.

Each channel does one delivery attempt per ``send`` and raises when it fails; retrying,
and keeping the request that raised the alert out of it, is the dispatcher's job
(``dispatch.py``). Channels keep their secrets out of ``repr`` because the dispatcher logs
them when a delivery fails.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import smtplib
import socket
import ssl
import urllib.request
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Literal, Protocol
from urllib.parse import urlsplit

from hygie.kit.syslog import SYSLOG_SD_ID, no_controls, sd_escape, syslog_token
from hygie.notify.message import AlertMessage, iso_utc

log = logging.getLogger("hygie.notify")


class Channel(Protocol):
    """Anything that can deliver an alert once, raising if it could not."""

    def send(self, message: AlertMessage) -> None: ...


def _check_port(port: int) -> None:
    if not 1 <= port <= 65535:
        raise ValueError(f"port {port} is not between 1 and 65535")


# --- webhook ------------------------------------------------------------------------------
SIGNATURE_HEADER = "X-Hygie-Signature"


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is refused (raised as an HTTP error): urllib would turn the POST into a
    body-less GET, and an alert should go only where it was configured to go."""

    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def _opener() -> urllib.request.OpenerDirector:
    # No proxy from the environment either: the configured URL is the only destination.
    return urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirects())


def signature(secret: str, body: bytes) -> str:
    """The ``X-Hygie-Signature`` value: ``sha256=`` and the hex HMAC-SHA256 of the body,
    so that the receiver can tell an alert from Hygie from a forged one."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


class WebhookChannel:
    """POSTs the alert as JSON (``AlertMessage.as_json``) to an http or https URL; any
    answer other than 2xx is a failure. Uses the standard library, as httpx is only a
    development dependency."""

    def __init__(self, url: str, *, timeout: float = 5.0, secret: str | None = None) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            # The URL itself is not repeated: its path or query may hold a token.
            raise ValueError("webhook URL must be http:// or https:// with a host")
        if secret is not None and not secret:
            raise ValueError("webhook secret must not be empty")
        self.url = url
        self.timeout = timeout
        self._secret = secret
        # For logs: the path and query of a webhook often hold its token.
        self._where = f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"

    def __repr__(self) -> str:
        return f"WebhookChannel({self._where})"

    def send(self, message: AlertMessage) -> None:
        body = json.dumps(message.as_json(), ensure_ascii=False, separators=(",", ":"))
        data = body.encode("utf-8")
        headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": "hygie"}
        if self._secret is not None:
            headers[SIGNATURE_HEADER] = signature(self._secret, data)
        # The scheme was checked in __init__: http or https only.
        request = urllib.request.Request(self.url, data=data, headers=headers, method="POST")  # noqa: S310
        with _opener().open(request, timeout=self.timeout) as response:
            response.read(65536)  # the answer does not matter beyond its status


# --- e-mail -------------------------------------------------------------------------------
class SmtpChannel:
    """Sends the alert as a plain-text e-mail, one connection per alert (alerts are rare,
    and a held-open connection would go stale between them)."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        sender: str,
        recipients: Sequence[str],
        starttls: bool = False,
        username: str | None = None,
        password: str | None = None,
        timeout: float = 10.0,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        _check_port(port)
        if not sender:
            raise ValueError("the sender address must not be empty")
        if not recipients or not all(recipients):
            raise ValueError("at least one recipient address is needed")
        if (username is None) != (password is None):
            raise ValueError("an SMTP username and password go together")
        if username is not None and not starttls:
            # Never send a password across the network in clear.
            raise ValueError("SMTP authentication needs starttls")
        self.host, self.port = host, port
        self.sender, self.recipients = sender, tuple(recipients)
        self.starttls, self.timeout = starttls, timeout
        self._credentials = (
            (username, password) if username is not None and password is not None else None
        )
        self._tls_context = tls_context

    def __repr__(self) -> str:
        return f"SmtpChannel({self.host}:{self.port} to {', '.join(self.recipients)})"

    def send(self, message: AlertMessage) -> None:
        mail = email_of(message, sender=self.sender, recipients=self.recipients)
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            if self.starttls:
                smtp.starttls(context=self._tls_context or ssl.create_default_context())
            if self._credentials is not None:
                smtp.login(*self._credentials)
            refused = smtp.send_message(mail)
        if refused:
            # Some recipients have it: raising would have it sent again to them on retry.
            log.warning("alert #%d refused for %s", message.alert_id, ", ".join(refused))


def email_of(message: AlertMessage, *, sender: str, recipients: Sequence[str]) -> EmailMessage:
    """The e-mail for ``message``: the subject line, and a body that lists the fields and
    the evidence as indented JSON (ids and counts only, like the message itself)."""
    mail = EmailMessage()
    mail["Subject"] = message.subject()
    mail["From"] = sender
    mail["To"] = ", ".join(recipients)
    mail["Date"] = formatdate(usegmt=True)
    # make_msgid's default domain is a DNS look-up (getfqdn); the sender's domain is enough.
    mail["Message-ID"] = make_msgid(f"alert{message.alert_id}", sender.rpartition("@")[2])
    mail["X-Hygie-Alert"] = str(message.alert_id)
    mail["X-Hygie-Severity"] = message.severity
    mail.set_content(_email_body(message))
    return mail


def _email_body(message: AlertMessage) -> str:
    account = message.username or "-"
    if message.user_id is not None:
        account += f" (user #{message.user_id})"
    fields = [
        ("Alert", f"#{message.alert_id}"),
        ("At (UTC)", iso_utc(message.at)),
        ("Severity", message.severity),
        ("Rule", message.rule),
        ("Account", account),
        (
            "Establishment",
            "-" if message.establishment_id is None else str(message.establishment_id),
        ),
        ("Response", message.response),
    ]
    lines = [message.summary, "", *(f"{name + ':':<15}{value}" for name, value in fields)]
    evidence = json.dumps(dict(message.evidence), indent=2, ensure_ascii=False, sort_keys=True)
    return "\n".join([*lines, "", "Evidence:", evidence, ""])


# --- syslog -------------------------------------------------------------------------------
SYSLOG_FACILITY_AUTHPRIV = 10
SYSLOG_SEVERITY = {"critical": 2, "high": 3, "warning": 4, "info": 6}  # crit, err, warning, info


class SyslogChannel:
    """Sends the alert as one RFC 5424 message, over UDP (RFC 5426) or TCP with
    octet-counting framing (RFC 6587), in the authpriv facility so that collectors file it
    with the other security events. The header and escaping helpers are the trail
    export's, so that a SIEM parses both alike."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        protocol: Literal["udp", "tcp"] = "udp",
        app_name: str = "hygie",
        timeout: float = 5.0,
    ) -> None:
        _check_port(port)
        if protocol not in ("udp", "tcp"):
            raise ValueError(f"syslog protocol must be udp or tcp, not {protocol!r}")
        if syslog_token(app_name, 48) != app_name:
            raise ValueError("syslog app_name must be 1 to 48 printable ASCII characters")
        self.host, self.port = host, port
        self.protocol, self.app_name, self.timeout = protocol, app_name, timeout

    def __repr__(self) -> str:
        return f"SyslogChannel({self.protocol}://{self.host}:{self.port})"

    def send(self, message: AlertMessage) -> None:
        data = syslog_message(message, app_name=self.app_name).encode("utf-8")
        if self.protocol == "tcp":
            self._send_tcp(data)
        else:
            self._send_udp(data)

    def _send_udp(self, data: bytes) -> None:
        family, kind, proto, _, address = socket.getaddrinfo(
            self.host, self.port, type=socket.SOCK_DGRAM
        )[0]
        with socket.socket(family, kind, proto) as sock:
            sock.settimeout(self.timeout)
            sock.sendto(data, address)

    def _send_tcp(self, data: bytes) -> None:
        frame = f"{len(data)} ".encode("ascii") + data  # octet counting: length, space, message
        with socket.create_connection((self.host, self.port), timeout=self.timeout) as sock:
            sock.sendall(frame)


def syslog_message(message: AlertMessage, *, app_name: str = "hygie") -> str:
    """``message`` as one RFC 5424 line: ``<PRI>1 TIMESTAMP HOST APP - alert [SD] summary``,
    the structured data naming the alert, rule, account and response."""
    pri = SYSLOG_FACILITY_AUTHPRIV * 8 + SYSLOG_SEVERITY[message.severity]
    host = syslog_token(socket.gethostname(), 255)
    params = [("alert", str(message.alert_id)), ("rule", message.rule)]
    if message.username is not None:
        params.append(("user", message.username))
    params.append(("response", message.response))
    data = " ".join(f'{name}="{sd_escape(value)}"' for name, value in params)
    return (
        f"<{pri}>1 {iso_utc(message.at)} {host} {app_name} - alert "
        f"[{SYSLOG_SD_ID} {data}] {no_controls(message.summary)}"
    )
