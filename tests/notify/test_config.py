"""Reading the alert channels from the HYGIE_ALERT_* variables."""

from __future__ import annotations

import pytest

from hygie.errors import ConfigurationError
from hygie.notify import (
    AlertMessage,
    SmtpChannel,
    SyslogChannel,
    WebhookChannel,
    channels_from_env,
)
from tests.notify.servers import WebhookReceiver

SMTP_BASE = {"HYGIE_ALERT_SMTP": "mail.clinique.example:25", "HYGIE_ALERT_EMAIL_TO": "rssi@x.fr"}


def test_nothing_set_means_no_channel() -> None:
    assert channels_from_env({}) == []
    assert channels_from_env({"HYGIE_ALERT_SMTP": " ", "HYGIE_ALERT_WEBHOOK_URL": ""}) == []


def test_every_channel_can_be_configured() -> None:
    webhook, smtp, syslog = channels_from_env(
        {
            "HYGIE_ALERT_WEBHOOK_URL": "https://soc.example/hooks/hygie",
            "HYGIE_ALERT_WEBHOOK_SECRET": "s3cret",
            "HYGIE_ALERT_SMTP": "[::1]:587",
            "HYGIE_ALERT_SMTP_FROM": "alertes@clinique.example",
            "HYGIE_ALERT_EMAIL_TO": "rssi@clinique.example, dpo@clinique.example,",
            "HYGIE_ALERT_SMTP_STARTTLS": "1",
            "HYGIE_ALERT_SMTP_USER": "hygie",
            "HYGIE_ALERT_SMTP_PASSWORD": "pass",
            "HYGIE_ALERT_SYSLOG": "tcp://siem.clinique.example:6514",
        }
    )
    assert isinstance(webhook, WebhookChannel)
    assert webhook.url == "https://soc.example/hooks/hygie"
    assert isinstance(smtp, SmtpChannel)
    assert (smtp.host, smtp.port, smtp.sender) == ("::1", 587, "alertes@clinique.example")
    assert smtp.recipients == ("rssi@clinique.example", "dpo@clinique.example")
    assert smtp.starttls
    assert isinstance(syslog, SyslogChannel)
    assert (syslog.host, syslog.port, syslog.protocol) == ("siem.clinique.example", 6514, "tcp")


def test_smtp_defaults_to_a_local_sender_without_starttls() -> None:
    [smtp] = channels_from_env(SMTP_BASE)
    assert isinstance(smtp, SmtpChannel)
    assert (smtp.host, smtp.port, smtp.sender) == ("mail.clinique.example", 25, "hygie@localhost")
    assert not smtp.starttls


def test_syslog_defaults_to_udp_wording() -> None:
    [syslog] = channels_from_env({"HYGIE_ALERT_SYSLOG": "udp://127.0.0.1:514"})
    assert isinstance(syslog, SyslogChannel)
    assert (syslog.host, syslog.port, syslog.protocol) == ("127.0.0.1", 514, "udp")


def test_the_configured_secret_signs_the_webhook(
    webhook: WebhookReceiver, alert: AlertMessage
) -> None:
    [channel] = channels_from_env(
        {"HYGIE_ALERT_WEBHOOK_URL": webhook.url(), "HYGIE_ALERT_WEBHOOK_SECRET": "s3cret"}
    )
    channel.send(alert)
    assert webhook.next_request().headers["x-hygie-signature"].startswith("sha256=")


@pytest.mark.parametrize(
    ("environ", "variable"),
    [
        ({"HYGIE_ALERT_WEBHOOK_URL": "ftp://soc.example/hook"}, "HYGIE_ALERT_WEBHOOK_URL"),
        ({"HYGIE_ALERT_WEBHOOK_URL": "soc.example/hook"}, "HYGIE_ALERT_WEBHOOK_URL"),
        ({"HYGIE_ALERT_WEBHOOK_SECRET": "s3cret"}, "HYGIE_ALERT_WEBHOOK_SECRET"),
        ({**SMTP_BASE, "HYGIE_ALERT_SMTP": "mail.example"}, "HYGIE_ALERT_SMTP"),
        ({**SMTP_BASE, "HYGIE_ALERT_SMTP": "mail.example:0"}, "HYGIE_ALERT_SMTP"),
        ({**SMTP_BASE, "HYGIE_ALERT_SMTP": "mail.example:70000"}, "HYGIE_ALERT_SMTP"),
        ({**SMTP_BASE, "HYGIE_ALERT_SMTP": "mail.example:smtp"}, "HYGIE_ALERT_SMTP"),
        ({**SMTP_BASE, "HYGIE_ALERT_SMTP": "::1:25"}, "HYGIE_ALERT_SMTP"),
        ({"HYGIE_ALERT_SMTP": "mail.example:25"}, "HYGIE_ALERT_EMAIL_TO"),
        ({**SMTP_BASE, "HYGIE_ALERT_EMAIL_TO": " , "}, "HYGIE_ALERT_EMAIL_TO"),
        ({**SMTP_BASE, "HYGIE_ALERT_EMAIL_TO": "rssi@x.fr; dpo@x.fr"}, "HYGIE_ALERT_EMAIL_TO"),
        ({**SMTP_BASE, "HYGIE_ALERT_EMAIL_TO": "rssi"}, "HYGIE_ALERT_EMAIL_TO"),
        ({**SMTP_BASE, "HYGIE_ALERT_SMTP_FROM": "hygie"}, "HYGIE_ALERT_SMTP_FROM"),
        ({**SMTP_BASE, "HYGIE_ALERT_SMTP_STARTTLS": "yes"}, "HYGIE_ALERT_SMTP_STARTTLS"),
        ({**SMTP_BASE, "HYGIE_ALERT_SMTP_STARTTLS": "1", "HYGIE_ALERT_SMTP_USER": "u"},
         "HYGIE_ALERT_SMTP_USER"),
        ({**SMTP_BASE, "HYGIE_ALERT_SMTP_STARTTLS": "1", "HYGIE_ALERT_SMTP_PASSWORD": "p"},
         "HYGIE_ALERT_SMTP_PASSWORD"),
        ({**SMTP_BASE, "HYGIE_ALERT_SMTP_USER": "u", "HYGIE_ALERT_SMTP_PASSWORD": "p"},
         "HYGIE_ALERT_SMTP_USER"),
        ({"HYGIE_ALERT_EMAIL_TO": "rssi@x.fr"}, "HYGIE_ALERT_EMAIL_TO"),
        ({"HYGIE_ALERT_SMTP_STARTTLS": "1"}, "HYGIE_ALERT_SMTP_STARTTLS"),
        ({"HYGIE_ALERT_SYSLOG": "siem.example:514"}, "HYGIE_ALERT_SYSLOG"),
        ({"HYGIE_ALERT_SYSLOG": "http://siem.example:514"}, "HYGIE_ALERT_SYSLOG"),
        ({"HYGIE_ALERT_SYSLOG": "udp://siem.example"}, "HYGIE_ALERT_SYSLOG"),
        ({"HYGIE_ALERT_SYSLOG": "udp://siem.example:514/x"}, "HYGIE_ALERT_SYSLOG"),
        ({"HYGIE_ALERT_SYSLOG": "tcp://:514"}, "HYGIE_ALERT_SYSLOG"),
        ({"HYGIE_ALERT_SYSLOG": "tcp://user@siem.example:514"}, "HYGIE_ALERT_SYSLOG"),
    ],
)  # fmt: skip
def test_a_malformed_or_incomplete_setting_names_its_variable(
    environ: dict[str, str], variable: str
) -> None:
    with pytest.raises(ConfigurationError) as raised:
        channels_from_env(environ)
    assert raised.value.field == variable
    assert str(raised.value).startswith(f"{variable}: ")
