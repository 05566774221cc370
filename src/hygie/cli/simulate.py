"""``hygie simulate``: a month of a generated group's work with attacks injected, through
the real gate on a virtual clock, and how containment did (``hygie.simulate``)."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from hygie.simulate.runner import Result


def simulate_command(
    days: Annotated[int, typer.Option(min=1, max=92, help="Days measured, with the attacks.")] = 30,
    scenario: Annotated[
        list[str] | None,
        typer.Option("--scenario", help="An attack to inject (repeatable; default: all)."),
    ] = None,
    detector: Annotated[
        str | None,
        typer.Option(
            help="'rules': also run a plain fixed-threshold detector on the same traffic."
        ),
    ] = None,
    warmup: Annotated[
        int,
        typer.Option(
            min=0,
            max=92,
            help="Days of ordinary work before the measured ones; norms are learned from them.",
        ),
    ] = 30,
    establishments: Annotated[int, typer.Option(min=1, max=10)] = 2,
    patients: Annotated[int, typer.Option(min=200, max=100_000)] = 2000,
    seed: Annotated[int, typer.Option()] = 1,
    start: Annotated[
        str | None, typer.Option(help="First day, YYYY-MM-DD (default: today).")
    ] = None,
    plot: Annotated[
        Path | None,
        typer.Option(
            "--plot",
            help="Write PNG plots of accounts' exposure against their norm in this directory.",
        ),
    ] = None,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Also write the figures as JSON.")
    ] = None,
) -> None:
    """Simulate D days of ordinary work for a generated group (clinicians, reception,
    billing, nights and weekends, occasional break-the-glass) through the real gate on a
    virtual clock, inject attack scenarios, and print for each whether it was detected,
    how fast, and how many patients it exposed before containment; on ordinary traffic,
    false alerts per 1,000 user-days and the share of accesses a care relationship explains."""
    from rich.progress import BarColumn, Progress, TaskID, TextColumn

    from hygie.cli.main import clear_errors, out
    from hygie.errors import ValidationError
    from hygie.simulate.runner import DETECTORS, Options, simulate
    from hygie.simulate.scenarios import SCENARIOS

    @clear_errors
    def run() -> None:
        names = tuple(scenario or SCENARIOS)
        unknown = [n for n in names if n not in SCENARIOS]
        if unknown:
            raise ValidationError(
                f"unknown scenario {unknown[0]!r}: one of {', '.join(SCENARIOS)}", field="scenario"
            )
        if detector is not None and detector not in DETECTORS:
            raise ValidationError(f"one of {', '.join(DETECTORS)}", field="detector")
        first = None
        if start is not None:
            try:
                first = date.fromisoformat(start)
            except ValueError:
                raise ValidationError("a date, YYYY-MM-DD", field="start") from None
        options = Options(
            days=days, warmup=warmup, establishments=establishments, patients=patients, seed=seed,
            scenarios=names, detectors=("adaptive", "rules") if detector == "rules" else ("adaptive",),
            start=first, plot_dir=plot,
        )  # fmt: skip
        with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total} days"),
                      console=out, transient=True) as bar:  # fmt: skip
            tasks: dict[str, TaskID] = {}

            def progress(which: str, done: int, total: int) -> None:
                if which not in tasks:
                    tasks[which] = bar.add_task(f"simulating ({which})", total=total)
                bar.update(tasks[which], completed=done)

            out.print(
                f"generating a group of {establishments} establishments and {patients:,} patients..."
            )
            results = simulate(options, progress=progress)
        for result in results:
            _print(result)
        if json_out is not None:
            json_out.write_text(json.dumps([_as_json(r) for r in results], indent=2, default=str))
            out.print(f"figures written to {json_out}")
        if plot is not None:
            out.print(f"plots written to {plot}")

    run()


def _duration(value: timedelta | None) -> str:
    if value is None:
        return "—"
    seconds = int(value.total_seconds())
    return (
        f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
        if seconds >= 3600
        else f"{seconds // 60} min {seconds % 60:02d} s"
    )


def _print(result: Result) -> None:
    from rich.table import Table

    from hygie.cli.main import out

    table = Table(title=f"detector: {result.detector}", title_justify="left")
    for column in (
        "scenario",
        "detected",
        "time to detection",
        "contained",
        "records",
        "summaries",
        "note",
    ):
        table.add_column(column)
    for s in result.scenarios:
        table.add_row(
            s.name, "yes" if s.detected else ("no" if s.started else "—"), _duration(s.time_to_detection),
            "yes" if s.contained_at else ("no" if s.started else "—"), str(s.records) if s.started else "—",
            str(s.summaries) if s.started else "—", s.note,
        )  # fmt: skip
    out.print(table)
    out.print(
        f"ordinary traffic: {result.user_days:,} user-days, {result.false_alerts} false alerts "
        f"({result.false_alerts_per_1000:.2f} per 1,000 user-days; by rule: {result.alerts_by_rule or 'none'}), "
        f"legitimate users locked: {len(result.legit_locked)}{' ' + ', '.join(result.legit_locked) if result.legit_locked else ''}",
        highlight=False,
    )  # fmt: skip
    out.print(
        f"accesses explained by a care relationship: {result.explained.share:.1%} "
        f"({result.explained.explained:,} of {result.explained.total:,} record accesses); "
        f"{result.requests:,} requests in {result.seconds:.0f} s",
        highlight=False,
    )


def _as_json(result: Result) -> dict[str, object]:
    return {
        "detector": result.detector,
        "scenarios": [
            {"name": s.name, "detected": s.detected, "started": s.started, "detected_at": s.detected_at,
             "time_to_detection_s": s.time_to_detection.total_seconds() if s.time_to_detection is not None else None,
             "contained_at": s.contained_at, "records": s.records, "summaries": s.summaries, "note": s.note}
            for s in result.scenarios
        ],
        "user_days": result.user_days, "false_alerts": result.false_alerts,
        "false_alerts_per_1000_user_days": result.false_alerts_per_1000,
        "legit_locked": result.legit_locked, "explained_share": result.explained.share,
        "explained": result.explained.explained, "record_accesses": result.explained.total,
        "alerts_by_rule": result.alerts_by_rule, "requests": result.requests, "seconds": result.seconds,
    }  # fmt: skip
