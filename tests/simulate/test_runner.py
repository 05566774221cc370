"""``hygie simulate`` itself: a small group, a day of warm-up and two measured days, the
adaptive and the rules detectors side by side, the figures as JSON and the plots as PNG."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

HYGIE = [sys.executable, "-m", "hygie.cli.main"]
PNG = b"\x89PNG\r\n\x1a\n"


def simulate(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run(
        [*HYGIE, "simulate", *args], capture_output=True, text=True, cwd=tmp, env=env,
        timeout=900, check=False,
    )  # fmt: skip


@pytest.mark.slow
def test_a_short_simulation_prints_writes_its_figures_and_draws_its_plots(tmp_path: Path) -> None:
    plots, figures = tmp_path / "plots", tmp_path / "figures.json"
    done = simulate(
        tmp_path, "--days", "2", "--warmup", "2", "--establishments", "1", "--patients", "400",
        "--scenario", "full-speed", "--scenario", "export-abuse", "--detector", "rules",
        "--start", date(2026, 12, 7).isoformat(), "--plot", str(plots), "--json", str(figures),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "detector: adaptive" in done.stdout and "detector: rules" in done.stdout
    results = json.loads(figures.read_text())
    assert [r["detector"] for r in results] == ["adaptive", "rules"]
    adaptive = {s["name"]: s for s in results[0]["scenarios"]}
    assert set(adaptive) == {"full-speed", "export-abuse"}
    assert adaptive["full-speed"]["detected"] and adaptive["full-speed"]["records"] < 50
    assert adaptive["export-abuse"]["detected"] and adaptive["export-abuse"]["records"] < 100
    drawn = sorted(p.name for p in plots.iterdir())
    assert {"adaptive-full-speed.png", "adaptive-export-abuse.png", "rules-full-speed.png"} <= set(
        drawn
    )
    assert any(name.startswith("adaptive-normal-") for name in drawn)
    assert all((plots / name).read_bytes().startswith(PNG) for name in drawn)


def test_an_unknown_scenario_is_a_clear_error(tmp_path: Path) -> None:
    done = simulate(tmp_path, "--scenario", "teleport")
    assert done.returncode != 0
    assert "unknown scenario 'teleport'" in done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
