"""``hygie export decrypt``: open a bulk export's file (age format, encrypted with the
passphrase its requester gave at download) on the workstation that received it. The
plain CSV names patients: it is written to a new file readable by its owner only."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from hygie.errors import ValidationError

export_app = typer.Typer(help="Exports of patient lists.", no_args_is_help=True)


@export_app.command("decrypt")
def decrypt(
    file: Annotated[Path, typer.Argument(help="The .csv.age file downloaded.")],
    out: Annotated[Path, typer.Option("--out", help="The CSV file to create (not overwritten).")],
) -> None:
    """Decrypt a bulk export with its passphrase (asked for, not echoed)."""
    from hygie.cli.main import clear_errors, err

    @clear_errors
    def run() -> None:
        import pyrage

        if not file.is_file():
            raise ValidationError(f"no such file: {file}", field="file")
        if out.exists():
            raise ValidationError(f"{out} exists: choose a new file", field="out")
        passphrase = typer.prompt("passphrase", hide_input=True)
        try:
            plain = pyrage.passphrase.decrypt(file.read_bytes(), passphrase)
        except pyrage.DecryptError:
            raise ValidationError("wrong passphrase, or not an export file", field="file") from None
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as target:
            target.write(plain)
        lines = max(plain.count(b"\n") - 1, 0)
        err.print(f"{lines} patients written to {out}", highlight=False)

    run()
