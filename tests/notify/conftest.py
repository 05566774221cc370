"""Fixtures of the alert delivery tests: a typical alert, and real receivers on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hygie.notify import AlertMessage
from tests.notify.samples import make_alert
from tests.notify.servers import (
    Certificate,
    TcpCollector,
    UdpCollector,
    WebhookReceiver,
    self_signed_certificate,
)


@pytest.fixture
def alert() -> AlertMessage:
    return make_alert()


@pytest.fixture
def webhook() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as receiver:
        yield receiver


@pytest.fixture
def udp_collector() -> Iterator[UdpCollector]:
    collector = UdpCollector()
    yield collector
    collector.close()


@pytest.fixture
def tcp_collector() -> Iterator[TcpCollector]:
    collector = TcpCollector()
    yield collector
    collector.close()


@pytest.fixture
def certificate(tmp_path: Path) -> Certificate:
    return self_signed_certificate(tmp_path)
