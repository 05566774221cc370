"""``hygie audit``: seal and verify the trail, sign checkpoints, export it."""

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
EXIT_UNSEALED = 3  # the chain is intact but an event waited too long for its seal


def _database() -> Database:
    from hygie.cli.main import _open
    from hygie.config import Settings

    return _open(Settings.from_env())


@audit_app.command("init-key")
def init_key() -> None:
    """Create the checkpoint signing key (HYGIE_AUDIT_KEY_FILE, default ./hygie-audit.key)."""
    from hygie.access.trail_keys import audit_key_path, init_audit_key
    from hygie.cli.main import clear_errors, out

    @clear_errors
    def run() -> None:
        key = init_audit_key(audit_key_path())
        out.print(
            f"created audit key file {key.path} (key id {key.key_id[:16]}); keep it apart from "
            "the database"
        )

    run()


@audit_app.command("seal")
def seal_command() -> None:
    """Chain every event written so far (servers and accesses normally do it themselves)."""
    from hygie.access.sealing import seal_pending
    from hygie.cli.main import clear_errors, out

    @clear_errors
    def run() -> None:
        done = seal_pending(_database(), wait=True)
        out.print(
            f"sealed {done.sealed:,} events; the chain ends at seq {done.seq}", highlight=False
        )

    run()


@audit_app.command("verify")
def verify_command(
    batch_size: Annotated[
        int, typer.Option(min=100, max=1_000_000, help="Events read per query.")
    ] = 20_000,
    grace: Annotated[
        int,
        typer.Option(
            min=1, help="Seconds an event may wait for its seal before sealing counts as stopped."
        ),
    ] = 60,
) -> None:
    """Check the hash chain and every signed checkpoint. Exits 2 naming the first event that
    was modified, deleted, inserted or reordered, or the checkpoint that no longer matches;
    exits 3 if the chain is intact but an event has waited for its seal longer than
    --grace seconds (sealing has stopped)."""
    from datetime import timedelta

    from hygie.access.maintenance import record_operator_access
    from hygie.access.trail import verify
    from hygie.access.trail_keys import audit_key_path, load_audit_key
    from hygie.cli.main import clear_errors, err, out

    @clear_errors
    def run() -> None:
        path = audit_key_path()
        public = load_audit_key(path).public if path.exists() else None
        db = _database()
        report = verify(
            db, public_key=public, batch_size=batch_size, grace=timedelta(seconds=grace)
        )
        finding = report.finding
        record_operator_access(db, action="audit.verify", count=report.events, details={
            "last_seq": report.last_seq, "finding": finding.kind if finding else None,
        })  # fmt: skip
        out.print(
            f"checked {report.events:,} events in {report.seconds:.2f} s "
            f"({report.rate:,.0f} events/s); signed checkpoints verified: {report.checkpoints}",
            highlight=False,
        )
        waiting = report.unsealed
        if waiting.oldest_at is not None:
            age = waiting.age(datetime.now(UTC))
            out.print(
                f"not sealed yet: {waiting.count:,} events, the oldest (id "
                f"{waiting.oldest_id}) written {age:,.1f} s ago",
                highlight=False,
            )
        else:
            out.print("not sealed yet: 0 events", highlight=False)
        if public is None:
            err.print(
                f"warning: no audit key file ({path}) and no checkpoint: a truncated tail or a "
                "rewritten chain cannot be detected; run `hygie audit checkpoint`",
                highlight=False,
            )
        if finding is not None and finding.kind == "unsealed":
            err.print(f"[bold red]SEALING STOPPED:[/] {finding.message}", highlight=False)
            raise typer.Exit(EXIT_UNSEALED)
        if finding is not None:
            err.print(f"[bold red]TAMPERED:[/] {finding.kind}: {finding.message}", highlight=False)
            raise typer.Exit(EXIT_TAMPERED)
        out.print(f"trail intact up to seq {report.last_seq}", highlight=False)

    run()


@audit_app.command("checkpoint")
def checkpoint_command() -> None:
    """Seal what has been written, then sign the chain head (the chain since the last
    checkpoint is checked first)."""
    from hygie.access.audit import Entry
    from hygie.access.trail import checkpoint
    from hygie.access.trail_keys import audit_key_path, init_audit_key, load_audit_key
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
    """Export the trail for a SIEM, in seq order (what has been written is sealed first)."""
    from hygie.access.maintenance import record_operator_access
    from hygie.access.sealing import seal_pending
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
        # Recorded first (no record, no data), then sealed: the export ends with itself.
        record_operator_access(db, action="audit.export", details={
            "format": fmt, "since": since, "until": until, "output": str(output) if output else None,
        })  # fmt: skip
        seal_pending(db, wait=True)
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
