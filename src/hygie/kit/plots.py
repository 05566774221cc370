"""Plots drawn on the server as PNG (no script in the browser, nothing from a CDN): an
account's exposure hour by hour against its norm. matplotlib, without a display."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime, tzinfo


def exposure_png(
    *,
    title: str,
    hours: Sequence[datetime],
    records: Sequence[int],
    summaries: Sequence[int],
    record_norm: float,
    summary_norm: float,
    contained_at: datetime | None = None,
    zone: tzinfo | None = None,
) -> bytes:
    """Two panels, records above, lists below: distinct patients per hour (bars), the
    hourly norm (dashed line) and, if any, the moment the account was contained."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    shown = [h.astimezone(zone) for h in hours]
    width = 1 / 24 * 0.9
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(10, 6), sharex=True, dpi=100)
    panels = (
        (top, records, record_norm, "patients' records / hour", "#b03a2e"),
        (bottom, summaries, summary_norm, "patients in lists / hour", "#2e86c1"),
    )
    for axis, values, norm, label, colour in panels:
        axis.bar(shown, values, width=width, align="edge", color=colour, label=label)
        axis.axhline(norm, color="#333333", linestyle="--", linewidth=1,
                     label=f"norm ({norm:g} / hour)")  # fmt: skip
        if contained_at is not None:
            axis.axvline(contained_at.astimezone(zone), color="#000000", linewidth=1.5,
                         label="contained")  # fmt: skip
        axis.set_ylabel("distinct patients")
        axis.legend(loc="upper left", fontsize="small")
        axis.grid(axis="y", alpha=0.3)
    top.set_title(title)
    bottom.xaxis.set_major_formatter(mdates.DateFormatter("%d/%m %Hh", tz=zone))  # type: ignore[no-untyped-call]
    figure.autofmt_xdate()
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    return buffer.getvalue()
