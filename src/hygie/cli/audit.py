"""``hygie audit``: verify the trail, sign checkpoints, export it."""

from __future__ import annotations

import typer

audit_app = typer.Typer(help="The audit trail.", no_args_is_help=True)
