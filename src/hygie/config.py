"""Settings, read once from the environment.

Only three things are configurable for now; each has a safe default for the embedded
(SQLite) installation and can be overridden for production.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_DATABASE_URL = "sqlite:///./hygie.db"
DEFAULT_KEY_FILE = "./hygie.keys"


@dataclass(frozen=True)
class Settings:
    database_url: str
    key_file: Path

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            database_url=os.environ.get("HYGIE_DATABASE_URL") or DEFAULT_DATABASE_URL,
            key_file=Path(os.environ.get("HYGIE_KEY_FILE") or DEFAULT_KEY_FILE),
        )

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
