"""The exposure meter kept in Redis (``HYGIE_REDIS_URL``), so that the counts of an account
hold across every server process, session and token: a harvest spread over several
processes is counted as one.

Per account and level, one sorted set holds each patient with the time it was last
received (``ZADD GT``: a late-finishing request never moves a time back), one set holds
every patient ever received. One Lua script adds the patients, drops what is older than
the longest window, and counts each window: one round trip, atomic, whatever the number of
processes. Same interface as ``exposure.LocalExposure``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, cast

import redis

from hygie.access.exposure import WINDOWS, Exposure, Level

_LONGEST = max(WINDOWS.values()).total_seconds()
# KEYS: the recent sorted set, the ever set. ARGV: now (seconds), the longest window, the
# widths of the windows, then the patients. Returns the count of each window, then ever.
_OBSERVE = """
local now = tonumber(ARGV[1])
local longest = tonumber(ARGV[2])
local n = tonumber(ARGV[3])
for i = 4 + n, #ARGV do
  redis.call('ZADD', KEYS[1], 'GT', now, ARGV[i])  -- adds, or moves a time forward only
  redis.call('SADD', KEYS[2], ARGV[i])
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. (now - longest))
local counts = {}
for i = 4, 3 + n do
  counts[#counts + 1] = redis.call('ZCOUNT', KEYS[1], '(' .. (now - tonumber(ARGV[i])), '+inf')
end
counts[#counts + 1] = redis.call('SCARD', KEYS[2])
return counts
"""

# The same counts with the patients of ARGV added, adding nothing (read only). KEYS as
# above; ARGV: now, the number of windows, their widths, then the (distinct) patients.
_PREVIEW = """
local now = tonumber(ARGV[1])
local n = tonumber(ARGV[2])
local counts = {}
for i = 3, 2 + n do
  local low = now - tonumber(ARGV[i])
  local c = redis.call('ZCOUNT', KEYS[1], '(' .. low, '+inf')
  for j = 3 + n, #ARGV do
    local seen = redis.call('ZSCORE', KEYS[1], ARGV[j])
    if (not seen) or tonumber(seen) <= low then c = c + 1 end
  end
  counts[#counts + 1] = c
end
local ever = redis.call('SCARD', KEYS[2])
for j = 3 + n, #ARGV do
  if redis.call('SISMEMBER', KEYS[2], ARGV[j]) == 0 then ever = ever + 1 end
end
counts[#counts + 1] = ever
return counts
"""


class RedisExposure:
    """The meter shared by every process that uses the same Redis and ``prefix``."""

    def __init__(self, client: redis.Redis, *, prefix: str = "hygie:exposure") -> None:
        self._client = client
        self._prefix = prefix
        self._observe = client.register_script(_OBSERVE)
        self._preview = client.register_script(_PREVIEW)

    @classmethod
    def from_url(cls, url: str, *, prefix: str = "hygie:exposure") -> RedisExposure:
        return cls(redis.Redis.from_url(url), prefix=prefix)

    def observe(
        self, *, account: int, level: Level, patients: Iterable[int], at: datetime
    ) -> Exposure:
        if at.tzinfo is None:
            raise ValueError("exposure times are timezone-aware")
        widths = [w.total_seconds() for w in WINDOWS.values()]
        args: list[Any] = [at.timestamp(), _LONGEST, len(widths), *widths]
        args += [int(p) for p in patients]
        return _exposure(level, self._observe(keys=self._keys(account, level), args=args))

    def preview(
        self, *, account: int, level: Level, patients: Iterable[int], at: datetime
    ) -> Exposure:
        if at.tzinfo is None:
            raise ValueError("exposure times are timezone-aware")
        widths = [w.total_seconds() for w in WINDOWS.values()]
        args: list[Any] = [
            at.timestamp(),
            len(widths),
            *widths,
            *sorted({int(p) for p in patients}),
        ]
        return _exposure(level, self._preview(keys=self._keys(account, level), args=args))

    def restart(self, *, account: int) -> None:
        self._client.delete(*(self._keys(account, level)[0] for level in Level))

    def _keys(self, account: int, level: Level) -> list[str]:
        base = f"{self._prefix}:{int(account)}:{Level(level).value}"
        return [f"{base}:recent", f"{base}:ever"]

    def current(self, *, account: int, level: Level, at: datetime) -> Exposure:
        return self.observe(account=account, level=level, patients=(), at=at)


def _exposure(level: Level, raw: Any) -> Exposure:
    counts = cast(list[int], raw)
    return Exposure(
        level=Level(level),
        windows=dict(zip(WINDOWS, (int(c) for c in counts[:-1]), strict=True)),
        ever=int(counts[-1]),
    )
