from __future__ import annotations

import time
from pathlib import Path

import matplotlib.image as mpimg
import matplotlib.pyplot as plt
import numpy as np
import pytest

from drillbook.evidence.chart import DPI, FIG_SIZE_IN, rolling_success, timeline_png
from drillbook.workload.history import History, Op

T0 = 1_715_500_000.0


def drill_history(n: int, outage: tuple[float, float]) -> History:
    """n ops over 60 s (T0-20 .. T0+40) from two probes and a writer; fail during outage."""
    history = History()
    processes = ("probe:/lookup", "probe:/history", "writer")
    per_process = n // len(processes)
    for process in processes:
        for i in range(per_process):
            start = T0 - 20 + i * 60.0 / per_process
            down = outage[0] <= start - T0 < outage[1]
            if down and i % 3 == 0:
                history.record(Op(process, "GET", start, start + 1.0, "info", error="timeout"))
            elif down:
                history.record(Op(process, "GET", start, start + 0.004, "fail", status=503))
            else:
                history.record(Op(process, "GET", start, start + 0.006, "ok", status=200))
    return history


def assert_png(path: Path) -> None:
    image = mpimg.imread(path)
    height, width = image.shape[:2]
    assert (width, height) == (FIG_SIZE_IN[0] * DPI, FIG_SIZE_IN[1] * DPI)
    assert image[..., :3].std() > 0.05  # something is drawn, not a blank canvas
    assert plt.get_fignums() == []  # the figure was closed


def test_recovered_drill_renders_6000_ops_quickly(tmp_path: Path) -> None:
    history = drill_history(6000, outage=(0.0, 12.0))
    began = time.perf_counter()
    out = timeline_png(history, tmp_path / "charts" / "t.png", t0=T0, t1=T0 + 12.4, title="2_pitr")
    elapsed = time.perf_counter() - began
    assert out == tmp_path / "charts" / "t.png"
    assert_png(out)
    assert elapsed < 1.5, f"rendering 6000 ops took {elapsed:.2f} s"


@pytest.mark.parametrize(
    ("name", "history", "t1"),
    [
        ("empty", History(), None),
        ("not_recovered", drill_history(300, outage=(0.0, 1e9)), None),
        ("only_failures", drill_history(300, outage=(-1e9, 1e9)), None),
        ("only_failures_t1", drill_history(300, outage=(-1e9, 1e9)), T0 + 5),
    ],
)
def test_degenerate_histories_still_render(
    tmp_path: Path, name: str, history: History, t1: float | None
) -> None:
    assert_png(timeline_png(history, tmp_path / f"{name}.png", t0=T0, t1=t1, title=name))


def test_rolling_success_counts_ops_within_the_window() -> None:
    starts = np.array([0.0, 0.5, 1.0, 1.2, 3.0])
    ok = np.array([1.0, 0.0, 1.0, 1.0, 0.0])
    # windows (t-1, t]: {0}, {0, .5}, {.5, 1}, {.5, 1, 1.2}, {3}
    assert rolling_success(starts, ok, 1.0).tolist() == pytest.approx([1, 0.5, 0.5, 2 / 3, 0])
