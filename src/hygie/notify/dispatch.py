"""Delivering alerts in the background.

The request that raises an alert must not wait for a mail server or fail because a webhook
is down: ``Dispatcher.submit`` only queues the message, and one daemon thread sends it to
every channel, retrying each failed channel with exponential backoff. What still fails is
logged (logger ``hygie.notify``); the alert itself is already stored in the database, so a
lost delivery is visible there.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Iterable

from hygie.notify.channels import Channel
from hygie.notify.message import AlertMessage

log = logging.getLogger("hygie.notify")

_Failures = list[tuple[Channel, Exception]]


class Dispatcher:
    """Sends each submitted alert to every channel, off the caller's thread.

    ``retries`` is how many times a failed channel is tried again after the first attempt,
    waiting ``backoff``, then twice as long each time; the other channels are not held up
    by it. At most ``max_pending`` alerts wait at once: beyond, new ones are logged and
    dropped rather than let a dead channel grow the queue without bound.
    """

    def __init__(
        self,
        channels: Iterable[Channel],
        *,
        retries: int = 3,
        backoff: float = 0.5,
        max_pending: int = 1000,
    ) -> None:
        if retries < 0 or backoff < 0 or max_pending < 1:
            raise ValueError("retries and backoff must not be negative, max_pending at least 1")
        self._channels = tuple(channels)
        self._retries = retries
        self._backoff = backoff
        self._max_pending = max_pending
        self._queue: queue.SimpleQueue[AlertMessage | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._pending = 0  # submitted and not yet delivered or given up
        self._worker: threading.Thread | None = None
        self._closed = False
        self._stopping = threading.Event()  # cuts short backoff waits when closing

    def submit(self, message: AlertMessage) -> None:
        """Queue ``message`` for delivery and return at once; never raises."""
        if not self._channels:
            return
        try:
            self._enqueue(message)
        except Exception:  # e.g. no thread could be started: the caller must not fail
            log.exception("alert #%d could not be queued for delivery", message.alert_id)

    def flush(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds until every submitted alert was delivered or given
        up; True if none is left."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def close(self, *, timeout: float = 5.0) -> None:
        """Stop taking alerts, give the queued ones up to ``timeout`` seconds to go out,
        then stop the worker; what is still queued then is logged as not delivered."""
        deadline = time.monotonic() + timeout
        with self._lock:
            self._closed = True
            worker = self._worker
        if worker is None:
            return
        self.flush(timeout)
        self._stopping.set()
        self._queue.put(None)
        worker.join(max(0.0, deadline - time.monotonic()))

    # --- the worker -----------------------------------------------------------------------
    def _enqueue(self, message: AlertMessage) -> None:
        with self._lock:
            if self._closed:
                log.warning("alert #%d not sent: the dispatcher is closed", message.alert_id)
                return
            if self._pending >= self._max_pending:
                log.error(
                    "alert #%d dropped: %d alerts wait already", message.alert_id, self._pending
                )
                return
            if self._worker is None:
                self._worker = threading.Thread(target=self._run, name="hygie-notify", daemon=True)
                self._worker.start()
            self._pending += 1
            self._queue.put(message)

    def _run(self) -> None:
        while (message := self._queue.get()) is not None:
            try:
                if self._stopping.is_set():
                    log.error("alert #%d not delivered: shut down first", message.alert_id)
                else:
                    self._deliver(message)
            except Exception:  # a faulty channel must not stop every later delivery
                log.exception("alert #%d: delivery failed unexpectedly", message.alert_id)
            finally:
                self._done()

    def _done(self) -> None:
        with self._idle:
            self._pending -= 1
            if self._pending == 0:
                self._idle.notify_all()

    def _deliver(self, message: AlertMessage) -> None:
        failed = _attempt(self._channels, message)
        attempts = 1
        while failed and attempts <= self._retries:
            delay = self._backoff * 2 ** (attempts - 1)
            for channel, error in failed:
                log.warning(
                    "alert #%d: %r failed (%s), retrying in %.1fs",
                    message.alert_id, channel, _describe(error), delay,
                )  # fmt: skip
            if self._stopping.wait(delay):
                break
            failed = _attempt([channel for channel, _ in failed], message)
            attempts += 1
        for channel, error in failed:
            log.error(
                "alert #%d not delivered to %r after %d attempts: %s",
                message.alert_id, channel, attempts, _describe(error),
            )  # fmt: skip


def _attempt(channels: Iterable[Channel], message: AlertMessage) -> _Failures:
    """Send ``message`` once to each channel; the ones that failed, with their error."""
    failed: _Failures = []
    for channel in channels:
        try:
            channel.send(message)
        except Exception as error:  # any failure of a channel is retried, then logged
            failed.append((channel, error))
    return failed


def _describe(error: Exception) -> str:
    return f"{type(error).__name__}: {error}"
