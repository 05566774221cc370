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
