"""Delivering security alerts (webhook, e-mail, syslog) without holding up the request
that raised them. The alert is stored by the containment code; this package only tells
people about it, with ids and counts, never patient data."""

from hygie.notify.channels import Channel, SmtpChannel, SyslogChannel, WebhookChannel
from hygie.notify.config import channels_from_env
from hygie.notify.dispatch import Dispatcher
from hygie.notify.message import SEVERITIES, AlertMessage

__all__ = [
    "SEVERITIES",
    "AlertMessage",
    "Channel",
    "Dispatcher",
    "SmtpChannel",
    "SyslogChannel",
    "WebhookChannel",
    "channels_from_env",
]
