"""Settings, read once from the environment.

A few things are configurable; each has a safe default for the embedded
(SQLite) installation and can be overridden for production.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from hygie.errors import ConfigurationError

DEFAULT_DATABASE_URL = "sqlite:///./hygie.db"
DEFAULT_KEY_FILE = "./hygie.keys"
DEFAULT_MAX_BODY_BYTES = 1024 * 1024  # HYGIE_MAX_BODY_BYTES: the largest request body served


@dataclass(frozen=True)
class Settings:
    database_url: str
    key_file: Path
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            database_url=os.environ.get("HYGIE_DATABASE_URL") or DEFAULT_DATABASE_URL,
            key_file=Path(os.environ.get("HYGIE_KEY_FILE") or DEFAULT_KEY_FILE),
            max_body_bytes=_positive_int("HYGIE_MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES),
        )

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def _positive_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if not re.fullmatch(r"[0-9]{1,15}", raw) or int(raw) < 1:
        raise ConfigurationError(f"{name}: {raw!r} is not a positive whole number of bytes")
    return int(raw)
