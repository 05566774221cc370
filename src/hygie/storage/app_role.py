"""The PostgreSQL role the application connects as (``hygie db grant-app-role``).

It is bound by row-level security: not a superuser, no BYPASSRLS, no CREATEROLE (which
could make it a member of the owner), and it owns nothing — the schema stays with the role
that migrates it, since an owner may switch row-level security off. It reads and writes
the data tables, takes ids from the sequences, and only appends to the audit trail: INSERT
and SELECT on every ``audit_*`` table, except the chain head, which it moves (SELECT and
UPDATE). No TRUNCATE, no REFERENCES, no TRIGGER anywhere."""

from __future__ import annotations

import re

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

from hygie.errors import ConfigurationError, ValidationError

ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
CHAIN_HEAD = "audit_head"
READ_ONLY = ("alembic_version",)  # read by the schema check at start-up
ROLE_ATTRIBUTES = "LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEROLE NOCREATEDB"


def privileges_on(table: str) -> str:
    """What the application role may do on ``table``."""
    if table == CHAIN_HEAD:
        return "SELECT, UPDATE"
    if table.startswith("audit_"):
        return "SELECT, INSERT"
    if table in READ_ONLY:
        return "SELECT"
    return "SELECT, INSERT, UPDATE, DELETE"


def grant_app_role(engine: Engine, role: str) -> list[str]:
    """Create ``role`` if absent and give it exactly the application's privileges on the
    current schema; returns the statements run, in order. Run it again after every
    migration: tables added since are granted, nothing else changes."""
    if not isinstance(role, str) or not ROLE_NAME.match(role):
        raise ValidationError(
            "a PostgreSQL role name: lower-case letters, digits and _, at most 63", field="role"
        )
    if engine.dialect.name != "postgresql":
        raise ConfigurationError(
            "the application role and row-level security exist on PostgreSQL only"
        )
    try:
        with engine.begin() as conn:
            statements = _statements(conn, role)
            for statement in statements:
                conn.execute(text(statement))
    except DBAPIError as exc:
        first = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
        raise ConfigurationError(f"cannot set up role {role}: {first}") from exc
    return statements


def _statements(conn: Connection, role: str) -> list[str]:
    schema = conn.scalar(text("SELECT current_schema()"))
    tables = list(
        conn.scalars(
            text(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
                "ORDER BY tablename"
            )
        )
    )
    if "alembic_version" not in tables:
        raise ConfigurationError("the schema is not migrated: run `hygie db upgrade` first")
    quoted = f'"{role}"'
    statements = []
    if _must_create(conn, role):
        statements.append(f"CREATE ROLE {quoted} {ROLE_ATTRIBUTES}")
    statements += [
        f'GRANT USAGE ON SCHEMA "{schema}" TO {quoted}',
        # Start from nothing, so that running it again never leaves a wider grant behind.
        f'REVOKE ALL ON ALL TABLES IN SCHEMA "{schema}" FROM {quoted}',
        f'REVOKE ALL ON ALL SEQUENCES IN SCHEMA "{schema}" FROM {quoted}',
    ]
    statements += [f'GRANT {privileges_on(t)} ON "{t}" TO {quoted}' for t in tables]
    statements.append(f'GRANT USAGE ON ALL SEQUENCES IN SCHEMA "{schema}" TO {quoted}')
    return statements


def _must_create(conn: Connection, role: str) -> bool:
    """Whether ``role`` must be created; refuses an existing role that could go around
    row-level security (the command never weakens nor rewrites an existing role)."""
    found = conn.execute(
        text("SELECT rolsuper, rolbypassrls, rolcreaterole FROM pg_roles WHERE rolname = :r"),
        {"r": role},
    ).first()
    if found is None:
        return True
    superuser, bypass, createrole = found
    if superuser or bypass or createrole:
        raise ConfigurationError(
            f"role {role} is a superuser or has BYPASSRLS or CREATEROLE, so row-level "
            "security would not bind it: choose another role"
        )
    owner = conn.scalar(
        text(
            "SELECT tableowner FROM pg_tables WHERE schemaname = current_schema() "
            "AND pg_has_role(:r, tableowner, 'MEMBER') LIMIT 1"
        ),
        {"r": role},
    )
    if owner is not None:
        raise ConfigurationError(
            f"role {role} owns the schema's tables (or is a member of their owner {owner}), "
            "and an owner may switch row-level security off: choose another role"
        )
    return False
