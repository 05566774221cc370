"""The clock Hygie reads: the wall clock, or the virtual one a simulation runs on.

Everything that decides with the time (the trail's timestamps, the care relationship's
window, the detector's sliding windows, sessions) asks ``now()``, so that ``hygie simulate``
can run a month of activity through the real gate in minutes (``virtual``). Nothing but a
simulation or a test sets it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

_override: Callable[[], datetime] | None = None


def now() -> datetime:
    """The current time, timezone-aware (UTC)."""
    return _override() if _override is not None else datetime.now(UTC)


@contextmanager
def virtual(read: Callable[[], datetime]) -> Iterator[None]:
    """Within the block, the whole process reads the time from ``read`` (one simulation
    at a time: the override is process-wide, as the server's threads must share it)."""
    global _override
    if _override is not None:
        raise RuntimeError("a virtual clock is already running")
    _override = read
    try:
        yield
    finally:
        _override = None
