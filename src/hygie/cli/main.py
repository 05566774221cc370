"""The ``hygie`` command line.

Every command reports a refused input or a configuration problem as one clear line on
standard error and exits non-zero; it never shows a stack trace for them."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from hygie.config import Settings
from hygie.db import Database
from hygie.errors import ConfigurationError, HygieError

app = typer.Typer(
    help="Hygie: a patient-record system for groups of clinics, built against record harvesting.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
keys_app = typer.Typer(
    help="Encryption keys (kept in HYGIE_KEY_FILE, never in the database).", no_args_is_help=True
)
app.add_typer(db_app, name="db")
app.add_typer(keys_app, name="keys")


def _register_subcommands() -> None:
    # Sub-applications live in their own modules; imported here, after `app` exists.
    from hygie.cli import audit, containment, exports, hl7, incident, simulate, users

    app.add_typer(audit.audit_app, name="audit")
    app.add_typer(containment.honey_app, name="honey")
    app.add_typer(containment.detection_app, name="detection")
    app.add_typer(exports.export_app, name="export")
    app.add_typer(hl7.hl7_app, name="hl7")
    app.add_typer(incident.incident_app, name="incident")
    app.add_typer(users.user_app, name="user")
    app.add_typer(users.token_app, name="token")
    app.command("simulate")(simulate.simulate_command)


out = Console()
err = Console(stderr=True)
F = TypeVar("F", bound=Callable[..., Any])


def clear_errors(fn: F) -> F:
    """Turn Hygie and database errors into one line on stderr and exit code 1."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except HygieError as exc:
            err.print(f"[bold red]error:[/] {exc}", highlight=False)
            raise typer.Exit(1) from None
        except OperationalError as exc:
            err.print(
                f"[bold red]error:[/] cannot use the database: {str(exc.orig).strip().splitlines()[0]}",
                highlight=False,
            )
            raise typer.Exit(1) from None
        except SQLAlchemyError as exc:
            err.print(f"[bold red]error:[/] database error: {type(exc).__name__}", highlight=False)
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]


def _progress() -> Progress:
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=False,
    )


def _open(settings: Settings) -> Database:
    db = Database.from_settings(settings)
    if not db.schema_is_current():
        raise ConfigurationError("the database schema is not current: run `hygie db upgrade` first")
    return db


# --- db -----------------------------------------------------------------------------------
@db_app.command("upgrade")
@clear_errors
def db_upgrade() -> None:
    """Create or migrate the schema to the newest version."""
    settings = Settings.from_env()
    Database.from_settings(settings).upgrade()
    out.print(f"schema is current ({_safe_url(settings.database_url)})")


@db_app.command("grant-app-role")
@clear_errors
def db_grant_app_role(
    role: Annotated[str, typer.Argument(help="The PostgreSQL role the application connects as.")],
) -> None:
    """Create (if absent) the role the application connects as on PostgreSQL and grant it
    its privileges: bound by row-level security, append-only on the audit trail. Run it as
    the schema's owner (or a superuser), again after every `hygie db upgrade`."""
    from hygie.storage.app_role import grant_app_role

    settings = Settings.from_env()
    db = _open(settings)
    try:
        statements = grant_app_role(db.engine, role)
    finally:
        db.dispose()
    for statement in statements:
        out.print(f"{statement};", highlight=False, soft_wrap=True)
    out.print(
        f"role {role} granted on {_safe_url(settings.database_url)}; connect the application "
        "as it (HYGIE_DATABASE_URL), keep migrating as the owner",
        highlight=False,
    )


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


# --- keys ---------------------------------------------------------------------------------
@keys_app.command("init")
@clear_errors
def keys_init() -> None:
    """Create the key file (HYGIE_KEY_FILE, default ./hygie.keys)."""
    from hygie.access.maintenance import init_key_file

    path = Settings.from_env().key_file
    ring = init_key_file(path)
    out.print(
        f"created key file {path} (active key {ring.active_id}); back it up apart from the database"
    )


@keys_app.command("rotate")
@clear_errors
def keys_rotate(
    resume: Annotated[
        bool, typer.Option(help="Finish an interrupted rotation without adding a key.")
    ] = False,
    batch_size: Annotated[
        int, typer.Option(min=1, max=100_000, help="Values re-encrypted per transaction.")
    ] = 1000,
) -> None:
    """Add a new key and re-encrypt every stored value with it, in batches."""
    from hygie.access import maintenance
    from hygie.kit.crypto import Keyring

    settings = Settings.from_env()
    db = _open(settings)
    ring = Keyring.load(settings.key_file)
    with _progress() as progress:
        task = progress.add_task("re-encrypting", total=None)
        report = maintenance.rotate_keys(
            db,
            ring,
            resume=resume,
            batch_size=batch_size,
            progress=lambda n: progress.advance(task, n),
            total=lambda n: progress.update(task, total=n),
        )
    out.print(
        f"active key is now {report.new_key}; re-encrypted {sum(report.reencrypted.values())} values"
    )
    for name, count in report.reencrypted.items():
        out.print(f"  {name}: {count}")


@keys_app.command("status")
@clear_errors
def keys_status() -> None:
    """How many stored values each key encrypts."""
    from hygie.access import maintenance
    from hygie.db import check_and_register_keys
    from hygie.kit.crypto import Keyring

    settings = Settings.from_env()
    db = _open(settings)
    ring = Keyring.load(settings.key_file)
    check_and_register_keys(db, ring)
    out.print(f"key file {settings.key_file}: keys {', '.join(ring.keys)}; active {ring.active_id}")
    for name, counts in maintenance.key_status(db).items():
        out.print(
            f"  {name}: " + (", ".join(f"{k}={v}" for k, v in sorted(counts.items())) or "empty")
        )


# --- generate -----------------------------------------------------------------------------
@app.command()
@clear_errors
def generate(
    establishments: Annotated[
        int, typer.Option(min=1, max=50, help="Number of establishments.")
    ] = 3,
    patients: Annotated[int, typer.Option(min=1, max=5_000_000, help="Number of patients.")] = 2000,
    seed: Annotated[int, typer.Option(help="Same seed, same data.")] = 1,
    reference_date: Annotated[
        str | None,
        typer.Option(help="The 'today' of the generated history (YYYY-MM-DD); default today."),
    ] = None,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Generator processes.")] = max(
        1, min(2, os.cpu_count() or 1)
    ),
) -> None:
    """Generate a realistic synthetic group into an empty database."""
    settings = Settings.from_env()
    db = _open(settings)
    ring = _load_or_fail(settings)
    _run_generation(
        db,
        ring,
        establishments=establishments,
        patients=patients,
        seed=seed,
        reference_date=_parse_day(reference_date),
        workers=workers,
    )


def _parse_day(value: str | None) -> date:
    if value is None:
        return datetime.now(UTC).date()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise HygieError(f"--reference-date: {value!r} is not a date (YYYY-MM-DD)") from None


def _load_or_fail(settings: Settings) -> Any:
    from hygie.db import check_and_register_keys
    from hygie.kit.crypto import Keyring

    db = Database.from_settings(settings)
    ring = Keyring.load(settings.key_file)
    check_and_register_keys(db, ring)
    return ring


def _run_generation(
    db: Database,
    ring: Any,
    *,
    establishments: int,
    patients: int,
    seed: int,
    reference_date: date,
    workers: int,
) -> None:
    from hygie.access.maintenance import generate_group as run

    with _progress() as progress:
        task = progress.add_task("patients", total=patients)
        report = run(
            db,
            ring,
            establishments=establishments,
            patients=patients,
            seed=seed,
            reference_date=reference_date,
            workers=workers,
            progress=lambda n: progress.advance(task, n),
        )
    table = Table(
        title=f"generated (seed {seed}, {report.chunks} chunks, {report.workers} workers)"
    )
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, count in report.rows.items():
        table.add_row(name, f"{count:,}")
    out.print(table)
    timing = Table(title="time")
    timing.add_column("step")
    timing.add_column("seconds", justify="right")
    for step, seconds in report.seconds.items():
        timing.add_row(step, f"{seconds:.1f}")
    out.print(timing)


# --- serve and demo -----------------------------------------------------------------------
@app.command()
@clear_errors
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
    workers: Annotated[int, typer.Option(min=1, max=64)] = 1,
) -> None:
    """Serve the web application."""
    settings = Settings.from_env()
    # Check before forking workers, so that a bad configuration is one clear line.
    from hygie.app import open_checked

    open_checked(settings).dispose()
    _serve(host, port, workers)


def _serve(host: str, port: int, workers: int) -> None:
    import uvicorn

    out.print(f"Hygie listening on http://{host}:{port}/ (health: /health, readiness: /ready)")
    uvicorn.run(
        "hygie.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
        server_header=False,
    )


@app.command()
@clear_errors
def demo(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
    patients: Annotated[
        int, typer.Option(min=1, max=100_000, help="Patients of the demo group.")
    ] = 2000,
    no_serve: Annotated[
        bool, typer.Option("--no-serve", help="Prepare only, do not serve.")
    ] = False,
) -> None:
    """Migrate, generate a small group if the database is empty, and serve."""

    from hygie.access.maintenance import holds_group, init_key_file
    from hygie.db import has_key_canaries

    settings = Settings.from_env()
    db = Database.from_settings(settings)
    if not settings.key_file.exists():
        if has_key_canaries(db):
            raise ConfigurationError(
                f"key file {settings.key_file} not found, but this database was encrypted with "
                "one: set HYGIE_KEY_FILE to it (a new key file could not read the data)"
            )
        init_key_file(settings.key_file)
        out.print(f"created key file {settings.key_file}")
    db.upgrade()
    ring = _load_or_fail(settings)
    from hygie.access import demo as demo_setup

    if not holds_group(db):
        out.print(f"generating a demo group of 3 establishments and {patients} patients...")
        _run_generation(
            db,
            ring,
            establishments=3,
            patients=patients,
            seed=1,
            reference_date=datetime.now(UTC).date(),
            workers=1,
        )
        demo_setup.mark_demo(db)
    else:
        out.print("the database already holds a group; serving it")
    _plant_demo_decoys(db)
    if demo_setup.is_demo(db):
        _print_demo_accounts(demo_setup.prepare_accounts(db, now=datetime.now(UTC)), host, port)
    else:
        out.print("this database was not created by `hygie demo`: no demo accounts")
    db.dispose()
    if not no_serve:
        _serve(host, port, 1)


def _print_demo_accounts(accounts: list[Any], host: str, port: int) -> None:
    """The demo's accounts, one per role, with this start's passwords."""
    from rich.table import Table

    table = Table(title="Demo accounts (passwords are new at each start)")
    for column in ("role", "username", "password", "second factor"):
        table.add_column(column)
    for a in accounts:
        factor = (
            "hygie user totp " + a.username
            if a.enrolled
            else "first sign-in: leave the code empty, scan the QR code"
        )
        table.add_row(a.role, a.username, a.password, factor)
    out.print(table)
    out.print(
        f"Sign in at http://{host}:{port}/login ; a code for an account: "
        "`hygie user totp USERNAME` (demo databases only).", highlight=False,
    )  # fmt: skip


def _plant_demo_decoys(db: Database) -> None:
    """The demo is defended like production: decoy patients among the real ones."""
    from hygie.access import honey

    if honey.count(db) == 0:
        planted = honey.plant(db, per_establishment=5, seed=1)
        out.print(f"planted {len(planted)} decoy patients (honey records)")


_register_subcommands()


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)


if __name__ == "__main__":
    main()
