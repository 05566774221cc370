"""``hygie audit``: verify the trail, sign checkpoints, export it."""

from __future__ import annotations

import os
import sys
from contextlib import nullcontext
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from hygie.db import Database

audit_app = typer.Typer(help="The audit trail.", no_args_is_help=True)

EXIT_TAMPERED = 2  # the trail failed verification (1: the command could not run)


def _database() -> Database:
    from hygie.cli.main import _open
    from hygie.config import Settings

    return _open(Settings.from_env())


@audit_app.command("init-key")
def init_key() -> None:
    """Create the checkpoint signing key (HYGIE_AUDIT_KEY_FILE, default ./hygie-audit.key)."""
    from hygie.access.trail import audit_key_path, init_audit_key
    from hygie.cli.main import clear_errors, out

    @clear_errors
    def run() -> None:
        key = init_audit_key(audit_key_path())
        out.print(
            f"created audit key file {key.path} (key id {key.key_id[:16]}); keep it apart from "
            "the database"
        )

    run()


@audit_app.command("verify")
def verify_command(
    batch_size: Annotated[
        int, typer.Option(min=100, max=1_000_000, help="Events read per query.")
    ] = 20_000,
) -> None:
    """Check the hash chain and every signed checkpoint. Exits 2 naming the first event that
    was modified, deleted, inserted or reordered, or the checkpoint that no longer matches."""
    from hygie.access.trail import audit_key_path, load_audit_key, verify
    from hygie.cli.main import clear_errors, err, out

    @clear_errors
    def run() -> None:
        path = audit_key_path()
        public = load_audit_key(path).public if path.exists() else None
        report = verify(_database(), public_key=public, batch_size=batch_size)
        out.print(
            f"checked {report.events:,} events in {report.seconds:.2f} s "
            f"({report.rate:,.0f} events/s); signed checkpoints verified: {report.checkpoints}",
            highlight=False,
        )
        if public is None:
            err.print(
                f"warning: no audit key file ({path}) and no checkpoint: a truncated tail or a "
                "rewritten chain cannot be detected; run `hygie audit checkpoint`",
                highlight=False,
            )
        if report.finding is not None:
            err.print(
                f"[bold red]TAMPERED:[/] {report.finding.kind}: {report.finding.message}",
                highlight=False,
            )
            raise typer.Exit(EXIT_TAMPERED)
        out.print(f"trail intact up to seq {report.last_seq}", highlight=False)

    run()


@audit_app.command("checkpoint")
def checkpoint_command() -> None:
    """Sign the chain head now (the chain since the last checkpoint is checked first)."""
    from hygie.access.audit import Entry
    from hygie.access.trail import audit_key_path, checkpoint, init_audit_key, load_audit_key
    from hygie.cli.main import clear_errors, out

    @clear_errors
    def run() -> None:
        db = _database()
        path = audit_key_path()
        if path.exists():
            key = load_audit_key(path)
        else:
            key = init_audit_key(path)
            out.print(f"created audit key file {path}; keep it apart from the database")
        entry = Entry(
            action="audit.checkpoint",
            outcome="allowed",
            how="cli",
            details={"os_user": _os_user()},
        )
        result = checkpoint(db, key, entry=entry)
        out.print(
            f"checkpoint #{result.checkpoint_id}: seq {result.seq}, head {result.head_hash[:16]}…, "
            f"key {result.key_id[:16]} (checked {result.verified.events:,} events since the "
            "previous checkpoint)",
            highlight=False,
        )

    run()


def _os_user() -> str:
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid {os.getuid()}"


@audit_app.command("export")
def export_command(
    fmt: Annotated[
        str, typer.Option("--format", help="jsonl (JSON lines) or syslog (RFC 5424).")
    ] = "jsonl",
    since: Annotated[
        str | None, typer.Option(help="From this time, inclusive (ISO 8601; UTC if no offset).")
    ] = None,
    until: Annotated[
        str | None, typer.Option(help="Up to this time, exclusive (ISO 8601; UTC if no offset).")
    ] = None,
    output: Annotated[
        Path | None, typer.Option(help="Write to this new file instead of standard output.")
    ] = None,
) -> None:
    """Export the trail for a SIEM, in seq order."""
    from hygie.access.trail_export import iter_events, syslog_line
    from hygie.cli.main import clear_errors, err
    from hygie.errors import ValidationError

    @clear_errors
    def run() -> None:
        if fmt not in ("jsonl", "syslog"):
            raise ValidationError(f"{fmt!r} is not jsonl or syslog", field="--format")
        start = _parse_time(since, "--since")
        end = _parse_time(until, "--until")
        if start is not None and end is not None and end <= start:
            raise ValidationError("must be after --since", field="--until")
        if output is not None and output.exists():
            raise ValidationError(f"{output} already exists; not overwritten", field="--output")
        db = _database()
        import orjson

        count = 0
        target: Any = output.open("x", encoding="utf-8") if output else nullcontext(sys.stdout)
        with target as stream:
            sink: IO[str] = stream
            for event in iter_events(db, since=start, until=end):
                if fmt == "jsonl":
                    sink.write(orjson.dumps(event).decode() + "\n")
                else:
                    sink.write(syslog_line(event) + "\n")
                count += 1
        if output is not None:
            err.print(f"exported {count:,} events to {output}", highlight=False)

    run()


def _parse_time(value: str | None, option: str) -> datetime | None:
    from hygie.errors import ValidationError

    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValidationError(f"{value!r} is not an ISO 8601 date or time", field=option) from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
