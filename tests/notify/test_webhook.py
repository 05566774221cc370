"""The webhook channel, against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import hashlib
import hmac
import json
import urllib.error

import pytest

from hygie.notify import AlertMessage, WebhookChannel
from tests.notify.servers import WebhookReceiver


def test_posts_the_alert_as_json_signed_with_the_secret(
    webhook: WebhookReceiver, alert: AlertMessage
) -> None:
    WebhookChannel(webhook.url(), secret="s3cret", timeout=2.0).send(alert)

    request = webhook.next_request()
    assert request.path == "/hooks/alerts"
    assert request.headers["content-type"] == "application/json; charset=utf-8"
    assert json.loads(request.body) == alert.as_json()
    expected = hmac.new(b"s3cret", request.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(request.headers["x-hygie-signature"], f"sha256={expected}")


def test_without_a_secret_there_is_no_signature(
    webhook: WebhookReceiver, alert: AlertMessage
) -> None:
    WebhookChannel(webhook.url()).send(alert)
    assert "x-hygie-signature" not in webhook.next_request().headers


@pytest.mark.parametrize("status", [500, 404, 302])
def test_an_answer_other_than_2xx_is_a_failure(status: int, alert: AlertMessage) -> None:
    with WebhookReceiver(statuses=(status,)) as receiver:
        with pytest.raises(urllib.error.HTTPError) as raised:
            WebhookChannel(receiver.url(), timeout=2.0).send(alert)
        assert raised.value.code == status
        receiver.next_request()
        assert receiver.requests.empty()  # a redirect is not followed


def test_an_unreachable_server_is_a_failure(alert: AlertMessage) -> None:
    with WebhookReceiver() as receiver:
        url = receiver.url()
    with pytest.raises(urllib.error.URLError):
        WebhookChannel(url, timeout=2.0).send(alert)


@pytest.mark.parametrize(
    "url", ["ftp://127.0.0.1/hook", "file:///etc/passwd", "127.0.0.1:8080/hook", "http://", ""]
)
def test_only_http_and_https_urls_are_accepted(url: str) -> None:
    with pytest.raises(ValueError, match="http"):
        WebhookChannel(url)


def test_repr_keeps_the_path_query_and_secret_out_of_logs() -> None:
    channel = WebhookChannel("https://hooks.example/T0/B1/XyZ?token=abc", secret="s3cret")
    assert repr(channel) == "WebhookChannel(https://hooks.example)"
