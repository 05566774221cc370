"""MLLP (HL7 minimal lower layer protocol): each message is framed as
``<VT> message <FS><CR>`` (0x0B ... 0x1C 0x0D) on a TCP connection, and answered in the
same framing by its acknowledgement before the next one is read.

Written here rather than taken from ``hl7apy.mllp``: that server reads one message per
connection and closes it, routes by message type before anything is checked (an
unsupported type gets no acknowledgement), and has no size limit. This one keeps the
connection open for as many messages as the sender has, answers each in order, drops
bytes outside a frame, refuses a frame larger than :data:`MAX_FRAME` and closes a
connection idle for longer than its timeout."""

from __future__ import annotations

import logging
import socket
import socketserver
from collections.abc import Callable

START, END = b"\x0b", b"\x1c\x0d"
MAX_FRAME = 1024 * 1024  # bytes: an ADT message is a few kilobytes
LOG = logging.getLogger("hygie.hl7")

Handler = Callable[[str], str]  # a message in, its acknowledgement out (ER7 text)


def frame(text: str, encoding: str = "utf-8") -> bytes:
    return START + text.encode(encoding, errors="replace") + END


def decode(payload: bytes) -> str:
    """UTF-8, else ISO 8859-1 (MSH-18 "8859/1", the usual charset of French feeds)."""
    return payload.decode(encoding_of(payload))


def encoding_of(payload: bytes) -> str:
    try:
        payload.decode("utf-8")
    except UnicodeDecodeError:
        return "latin-1"
    return "utf-8"


def split_frames(buffer: bytes) -> tuple[list[bytes], bytes]:
    """The complete frames' payloads in ``buffer`` and what remains (a frame begun).
    Bytes before a start block are dropped."""
    found: list[bytes] = []
    while True:
        start = buffer.find(START)
        if start < 0:
            return found, b""
        end = buffer.find(END, start + 1)
        if end < 0:
            return found, buffer[start:]
        found.append(buffer[start + 1 : end])
        buffer = buffer[end + len(END) :]


class _Connection(socketserver.BaseRequestHandler):
    server: MllpServer

    def handle(self) -> None:
        sock: socket.socket = self.request
        sock.settimeout(self.server.idle_timeout)
        peer = f"{self.client_address[0]}:{self.client_address[1]}"
        buffer = b""
        while True:
            try:
                chunk = sock.recv(65536)
            except (TimeoutError, OSError):
                return
            if not chunk:
                return
            buffer += chunk
            payloads, buffer = split_frames(buffer)
            for payload in payloads:
                encoding = encoding_of(payload)  # answered in the sender's character set
                try:
                    ack = self.server.on_message(payload.decode(encoding))
                except Exception:  # e.g. the database is gone: no ACK, the sender resends
                    LOG.exception("MLLP message from %s not handled: connection closed", peer)
                    return
                try:
                    sock.sendall(frame(ack, encoding))
                except OSError:
                    return
            if len(buffer) > MAX_FRAME:
                LOG.warning("MLLP frame from %s exceeds %d bytes: connection closed", peer,
                            MAX_FRAME)  # fmt: skip
                return


class MllpServer(socketserver.ThreadingTCPServer):
    """One thread per connection; each connection's messages are handled in order."""

    allow_reuse_address = True
    daemon_threads = True

    def __init__(
        self, host: str, port: int, on_message: Handler, *, idle_timeout: float = 300.0
    ) -> None:
        self.on_message = on_message
        self.idle_timeout = idle_timeout
        super().__init__((host, port), _Connection)

    @property
    def port(self) -> int:
        return int(self.server_address[1])
