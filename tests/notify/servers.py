"""Real receivers on 127.0.0.1 for the channel tests: a webhook endpoint, syslog collectors
over UDP and TCP, an SMTP server (aiosmtpd) and a server that accepts connections but never
answers. Each listens on a port the kernel picks, so that tests can run in parallel."""

from __future__ import annotations

import contextlib
import errno
import ipaddress
import queue
import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

LOOPBACK = "127.0.0.1"
WAIT = 5.0  # seconds a test waits for something to arrive before failing


# --- webhook ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Request:
    path: str
    headers: dict[str, str]
    body: bytes


class WebhookReceiver:
    """An HTTP server that records each POST and answers with the next of ``statuses``
    (then 204); a 302 answer points elsewhere on the same server."""

    def __init__(self, statuses: tuple[int, ...] = ()) -> None:
        self.requests: queue.Queue[Request] = queue.Queue()
        self._statuses = list(statuses)
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer((LOOPBACK, 0), self._handler())
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def url(self, path: str = "/hooks/alerts") -> str:
        return f"http://{LOOPBACK}:{self._server.server_address[1]}{path}"

    def next_request(self) -> Request:
        return self.requests.get(timeout=WAIT)

    def _next_status(self) -> int:
        with self._lock:
            return self._statuses.pop(0) if self._statuses else 204

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                headers = {name.lower(): value for name, value in self.headers.items()}
                receiver.requests.put(Request(self.path, headers, body))
                status = receiver._next_status()
                self.send_response(status)
                if status == 302:
                    self.send_header("Location", receiver.url("/elsewhere"))
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep the test output quiet

        return Handler

    def __enter__(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(WAIT)


@contextlib.contextmanager
def silent_server() -> Iterator[str]:
    """A URL whose server completes the TCP handshake (the kernel does, from the backlog)
    but never reads nor answers: a webhook that hangs."""
    with socket.create_server((LOOPBACK, 0), backlog=16) as listener:
        yield f"http://{LOOPBACK}:{listener.getsockname()[1]}/hook"


# --- syslog -------------------------------------------------------------------------------
class UdpCollector:
    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((LOOPBACK, 0))
        self.sock.settimeout(WAIT)
        self.port: int = self.sock.getsockname()[1]

    def receive(self) -> bytes:
        return self.sock.recvfrom(65535)[0]

    def close(self) -> None:
        self.sock.close()


class TcpCollector:
    """Accepts one connection and reads it to the end (the channel closes after sending)."""

    def __init__(self) -> None:
        self.sock = socket.create_server((LOOPBACK, 0))
        self.sock.settimeout(WAIT)
        self.port: int = self.sock.getsockname()[1]

    def receive(self) -> bytes:
        connection, _ = self.sock.accept()
        with connection:
            connection.settimeout(WAIT)
            chunks = []
            while chunk := connection.recv(65535):
                chunks.append(chunk)
        return b"".join(chunks)

    def close(self) -> None:
        self.sock.close()


# --- SMTP ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Mail:
    mail_from: str
    rcpt_tos: list[str]
    content: bytes
    login: bytes | None


@dataclass
class _Collect:
    """The aiosmtpd handler: every accepted mail goes into ``mails``."""

    mails: queue.Queue[Mail] = field(default_factory=queue.Queue)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        login = session.login_data if isinstance(session.login_data, bytes) else None
        content = envelope.original_content or b""
        self.mails.put(Mail(envelope.mail_from or "", list(envelope.rcpt_tos), content, login))
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        port: int = probe.getsockname()[1]
        return port


class SmtpSink:
    """aiosmtpd's Controller on a free port of 127.0.0.1. The Controller cannot listen on
    port 0 (it connects to its own port to check it is up), so a free port is picked, and
    picked again in the unlikely case another process took it meanwhile."""

    def __init__(self, **smtp_options: Any) -> None:
        self.handler = _Collect()
        self._options = smtp_options
        self.controller: Controller | None = None
        self.port = 0

    def __enter__(self) -> SmtpSink:
        for _ in range(5):
            self.port = _free_port()
            controller = Controller(
                self.handler, hostname=LOOPBACK, port=self.port,
                server_hostname="localhost", **self._options,
            )  # fmt: skip
            try:
                controller.start()
            except OSError as error:
                if error.errno != errno.EADDRINUSE:
                    raise
                continue
            self.controller = controller
            return self
        raise RuntimeError("no free port for the SMTP sink")

    def __exit__(self, *exc: object) -> None:
        if self.controller is not None:
            self.controller.stop()

    def next_mail(self) -> Mail:
        return self.handler.mails.get(timeout=WAIT)


def accept_only(login: bytes, password: bytes) -> Any:
    """An aiosmtpd authenticator that accepts one login and password."""

    def authenticate(
        server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and auth_data == (login, password)
        if not ok:  # handled=False: aiosmtpd answers 535 itself
            return AuthResult(success=False, handled=False)
        return AuthResult(success=True, auth_data=auth_data)

    return authenticate


@dataclass(frozen=True)
class Certificate:
    """A self-signed certificate for 127.0.0.1: the server's context, and a client
    context that trusts it (and nothing else)."""

    cert_file: Path
    key_file: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context

    def client_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.cert_file))


def self_signed_certificate(directory: Path) -> Certificate:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, LOOPBACK)])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(LOOPBACK))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return Certificate(cert_file, key_file)
