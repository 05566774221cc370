"""``hygie honey``: the decoy patients containment watches (``access.honey``)."""

from __future__ import annotations

from typing import Annotated

import typer

honey_app = typer.Typer(
    help="Decoy patients (honey records) that raise alerts.", no_args_is_help=True
)


@honey_app.command("plant")
def plant_command(
    per_establishment: Annotated[
        int, typer.Option("--per-establishment", min=1, max=100, help="Decoys per establishment.")
    ] = 5,
    seed: Annotated[int | None, typer.Option(help="Seed (repeatable runs).")] = None,
) -> None:
    """Plant decoy patients in every establishment: plausible identities that no care
    leads to; any access to one raises an alert, opening one contains the account."""
    from hygie.access import honey
    from hygie.cli.main import _open, clear_errors, out
    from hygie.config import Settings

    @clear_errors
    def run() -> None:
        db = _open(Settings.from_env())
        try:
            planted = honey.plant(db, per_establishment=per_establishment, seed=seed)
            total = honey.count(db)
        finally:
            db.dispose()
        out.print(f"planted {len(planted)} decoy patients ({total} in all)", highlight=False)

    run()


detection_app = typer.Typer(help="The detector's norms (containment).", no_args_is_help=True)


@detection_app.command("norms")
def norms_command() -> None:
    """The norms in force: the defaults, and those learned or set by a security officer."""
    from rich.table import Table

    from hygie.access import maintenance, norms
    from hygie.cli.main import _open, clear_errors, out
    from hygie.config import Settings

    @clear_errors
    def run() -> None:
        db = _open(Settings.from_env())
        try:
            lines = norms.norms_in_force(db)
            maintenance.record_operator_access(db, action="detection.norms", details={})
        finally:
            db.dispose()
        table = Table("signal", "role", "establishment", "threshold", "source", "by", "reason")
        for n in lines:
            table.add_row(n.signal, n.role or "any", str(n.establishment_id or "all"), f"{n.threshold:g}",
                          n.source, n.updated_by or "", n.reason or "")  # fmt: skip
        out.print(table)

    run()


@detection_app.command("learn")
def learn_command(
    since: Annotated[
        str,
        typer.Option(help="Start of the period learned from (ISO 8601; Paris time if no offset)."),
    ],
    until: Annotated[str | None, typer.Option(help="End of the period (default: now).")] = None,
) -> None:
    """Learn the volume norms of every role from the trail of a period (a month with its
    end, ideally); norms a security officer set are kept."""
    from hygie.access import norms
    from hygie.access.maintenance import operator
    from hygie.cli.incident import parse_time
    from hygie.cli.main import _open, clear_errors, out
    from hygie.config import Settings
    from hygie.kit import clock

    @clear_errors
    def run() -> None:
        start = parse_time(since, option="--since")
        end = parse_time(until, option="--until", end_of_day=True) if until else clock.now()
        db = _open(Settings.from_env())
        try:
            learned = norms.learn(db, since=start, until=end, updated_by=operator())
        finally:
            db.dispose()
        out.print(
            f"learned {len(learned)} norms from {start:%Y-%m-%d} to {end:%Y-%m-%d}", highlight=False
        )

    run()
