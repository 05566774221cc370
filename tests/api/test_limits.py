"""Request size limits: a body over HYGIE_MAX_BODY_BYTES gets 413 whether its
Content-Length says so or it streams in chunks (and is never read past the limit), an
over-long address gets 414; the refusal is in the API's shape, closes the connection, and
nothing runs behind it (no write, no audit event)."""

from __future__ import annotations

import dataclasses
import json
import select
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from hygie.api.limits import MAX_URL_BYTES, RequestLimits, too_large_message
from hygie.app import create_app
from hygie.config import DEFAULT_MAX_BODY_BYTES, Settings
from hygie.errors import ConfigurationError
from tests.api.conftest import USER_AGENT, Site
from tests.api.test_bad_input import table_sizes
from tests.api.test_tokens import issue

LIMIT = 1900


def limited_app(site: Site, limit: int = LIMIT) -> FastAPI:
    settings = dataclasses.replace(Settings.from_env(), max_body_bytes=limit)
    app = create_app(settings, db=site.db)
    app.dependency_overrides.update(site.app.dependency_overrides)  # the test clock
    return app


def client_for(app: FastAPI, token: str | None = None) -> TestClient:
    headers = {"User-Agent": USER_AGENT}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return TestClient(app, base_url="https://testserver", headers=headers)


def padded_reason(size: int) -> bytes:
    """A valid break-the-glass body of exactly ``size`` bytes."""
    skeleton = {"reason_code": "emergency", "reason_text": "Malaise : "}
    room = size - len(json.dumps(skeleton, ensure_ascii=False).encode())
    assert room > 0
    # The reason may hold 500 characters: four bytes each fill the body.
    text = skeleton["reason_text"] + "\N{STETHOSCOPE}" * (room // 4) + "!" * (room % 4)
    padded = json.dumps({**skeleton, "reason_text": text}, ensure_ascii=False).encode()
    assert len(padded) == size
    return padded


def assert_refused(answer: Any, status: int, message: str) -> None:
    assert answer.status_code == status, answer.text
    assert answer.json() == {"error": message, "field": None}
    assert answer.headers["content-type"] == "application/json"
    assert answer.headers["connection"] == "close"
    assert answer.headers["x-frame-options"] == "DENY"  # the security headers too


def test_setting_default_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HYGIE_MAX_BODY_BYTES", raising=False)
    assert Settings.from_env().max_body_bytes == DEFAULT_MAX_BODY_BYTES == 1024 * 1024
    monkeypatch.setenv("HYGIE_MAX_BODY_BYTES", "2048")
    assert Settings.from_env().max_body_bytes == 2048
    for wrong in ("0", "-5", "1e6", "lots", "١٢٣", "9" * 40):
        monkeypatch.setenv("HYGIE_MAX_BODY_BYTES", wrong)
        with pytest.raises(ConfigurationError, match="HYGIE_MAX_BODY_BYTES"):
            Settings.from_env()


def test_body_at_the_limit_is_served_one_byte_more_is_refused(site: Site) -> None:
    token = issue(site, "ide.a", scope="write")["token"]
    client = client_for(limited_app(site), token)
    url = f"/api/patients/{site.patient}/break-glass"
    headers = {"content-type": "application/json"}

    sizes = table_sizes(site.db)
    refused = client.post(url, content=padded_reason(LIMIT + 1), headers=headers)
    assert_refused(refused, 413, too_large_message(LIMIT))
    assert table_sizes(site.db) == sizes  # not even the token's use is recorded

    served = client.post(url, content=padded_reason(LIMIT), headers=headers)
    assert served.status_code == 201, served.text


def test_chunked_body_over_the_limit_is_refused(site: Site) -> None:
    token = issue(site, "ide.a", scope="write")["token"]
    client = client_for(limited_app(site), token)
    body = padded_reason(LIMIT + 1000)
    sizes = table_sizes(site.db)

    def chunks() -> Iterator[bytes]:  # no Content-Length: Transfer-Encoding: chunked
        for start in range(0, len(body), 700):
            yield body[start : start + 700]

    refused = client.post(
        f"/api/patients/{site.patient}/break-glass",
        content=chunks(),
        headers={"content-type": "application/json"},
    )
    assert "content-length" not in refused.request.headers
    assert_refused(refused, 413, too_large_message(LIMIT))
    assert table_sizes(site.db) == sizes


async def _echo_body(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """An application that reads its whole body, then answers 200 with its length."""
    size = 0
    while True:
        message = await receive()
        size += len(message.get("body", b""))
        if not message.get("more_body"):
            break
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": str(size).encode()})


def _call(middleware: RequestLimits, receive: Any, *, path: str = "/api/x", **extra: Any) -> list[dict[str, Any]]:  # fmt: skip
    import anyio

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": path, "raw_path": path.encode(),
             "query_string": b"", "headers": extra.get("headers", [])}  # fmt: skip
    anyio.run(middleware, scope, receive, send)
    return sent


def test_an_endless_stream_is_read_no_further_than_the_limit() -> None:
    """The middleware pulls chunks only until their total passes the limit: an endless
    body costs the server at most the limit plus one chunk."""
    chunk = b"x" * 1000
    pulled = 0

    async def endless() -> dict[str, Any]:
        nonlocal pulled
        pulled += 1
        return {"type": "http.request", "body": chunk, "more_body": True}

    sent = _call(RequestLimits(_echo_body, max_body_bytes=LIMIT), endless)
    assert pulled == LIMIT // len(chunk) + 1  # 2 chunks: the second crosses 1900
    assert sent[0]["status"] == 413
    assert json.loads(sent[1]["body"])["error"] == too_large_message(LIMIT)


def test_an_application_failing_on_the_cut_body_still_gets_a_413() -> None:
    """Whatever the application makes of the interrupted body (here it wraps the error in
    its own), the client is told 413, and the application's answer is not sent."""

    async def wrapping(scope: dict[str, Any], receive: Any, send: Any) -> None:
        try:
            await _echo_body(scope, receive, send)
        except Exception as exc:
            await send({"type": "http.response.start", "status": 400, "headers": []})
            raise RuntimeError("body unreadable") from exc

    async def endless() -> dict[str, Any]:
        return {"type": "http.request", "body": b"x" * 1000, "more_body": True}

    sent = _call(RequestLimits(wrapping, max_body_bytes=LIMIT), endless)
    assert [m["status"] for m in sent if m["type"] == "http.response.start"] == [413]


def test_a_streamed_body_within_the_limit_reaches_the_application() -> None:
    chunks = [b"y" * 950] * 2

    async def finite() -> dict[str, Any]:
        body = chunks.pop(0)
        return {"type": "http.request", "body": body, "more_body": bool(chunks)}

    sent = _call(RequestLimits(_echo_body, max_body_bytes=LIMIT), finite)
    assert (sent[0]["status"], sent[1]["body"]) == (200, str(LIMIT).encode())


def test_invalid_or_conflicting_content_length_is_refused() -> None:
    async def never() -> dict[str, Any]:
        raise AssertionError("the body must not be read")

    middleware = RequestLimits(_echo_body, max_body_bytes=LIMIT)
    for headers in (
        [(b"content-length", b"12a")],
        [(b"content-length", b"-1")],
        [(b"content-length", b"10"), (b"content-length", b"20")],
    ):
        sent = _call(middleware, never, headers=headers)
        assert sent[0]["status"] == 400, headers
    huge = _call(middleware, never, headers=[(b"content-length", b"9" * 30)])
    assert huge[0]["status"] == 413


def test_fhir_refusals_are_operation_outcomes() -> None:
    async def never() -> dict[str, Any]:
        raise AssertionError("the body must not be read")

    middleware = RequestLimits(_echo_body, max_body_bytes=LIMIT)
    sent = _call(middleware, never, path="/fhir/Patient", headers=[(b"content-length", b"5000")])
    assert sent[0]["status"] == 413
    assert (b"content-type", b"application/fhir+json") in sent[0]["headers"]
    outcome = json.loads(sent[1]["body"])
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["code"] == "too-long"


def test_over_long_address_is_refused(site: Site) -> None:
    token = issue(site, "sec.a", scope="read")["token"]
    client = client_for(site.app, token)
    sizes = table_sizes(site.db)
    base = "/api/patients?name=martin&first_name="
    room = MAX_URL_BYTES - (len(base) - 1)  # the "?" belongs to neither path nor query
    too_long = client.get(base + "a" * (room + 1))
    assert_refused(
        too_long, 414, f"the address is too long: at most {MAX_URL_BYTES} bytes of path and query string"
    )  # fmt: skip
    assert table_sizes(site.db) == sizes
    # At the limit, the request goes through (and is refused for what it says).
    at_limit = client.get(base + "a" * room)
    assert at_limit.status_code == 422 and at_limit.json()["field"] == "first_name"


@pytest.fixture
def live_server(site: Site) -> Iterator[int]:
    """The application with a 64 KiB limit, served by uvicorn on a loopback port."""
    app = limited_app(site, limit=64 * 1024)
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    port: int = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_live_server_answers_413_mid_stream_and_closes(site: Site, live_server: int) -> None:
    """A real client streams a chunked body that never ends: the server answers 413 once
    the limit is passed, long before the client would have finished, and hangs up."""
    limit, chunk = 64 * 1024, b"z" * 8192
    head = (
        f"POST /api/patients/{site.patient}/break-glass HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    ).encode()
    sent = 0
    answer = b""
    with socket.create_connection(("127.0.0.1", live_server), timeout=10) as sock:
        sock.sendall(head)
        while sent < 64 * limit:  # 4 MiB: far more than the server may read
            # Paced a little, so that what the kernel buffers does not race the server.
            readable, _, _ = select.select([sock], [], [], 0.005)
            if readable:
                break
            try:
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += len(chunk)
        sock.settimeout(10)
        while True:
            try:
                data = sock.recv(65536)
            except ConnectionResetError:
                break
            if not data:
                break  # the server closed the connection
            answer += data
    status_line, _, rest = answer.partition(b"\r\n")
    assert status_line.startswith(b"HTTP/1.1 413 "), answer[:200]
    assert b"connection: close" in rest.lower()
    body = rest.split(b"\r\n\r\n", 1)[1]
    assert json.loads(body) == {"error": too_large_message(limit), "field": None}
    # The refusal came while the client was still sending (the exact bound on what the
    # server reads is test_an_endless_stream_is_read_no_further_than_the_limit's).
    assert sent < 32 * limit, f"the client could send {sent} bytes before the refusal"
