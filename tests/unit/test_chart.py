from __future__ import annotations

from pathlib import Path

import matplotlib.image as mpimg
import matplotlib.pyplot as plt
import numpy as np
import pytest

from drillbook.evidence import chart
from drillbook.evidence.chart import (
    DPI,
    FIG_SIZE_IN,
    rolling_p95,
    rolling_success,
    timeline_png,
)
from drillbook.evidence.prometheus_chart import rto_views_png
from drillbook.workload.history import History, Op

T0 = 1_715_500_000.0


def drill_history(n: int, outage: tuple[float, float]) -> History:
    """n ops over 60 s (T0-20 .. T0+40) from two probes and a writer (plus a lag sampler the
    chart leaves out); fail during outage."""
    history = History()
    processes = ("probe:/lookup", "probe:/history", "writer")
    for i in range(20):
        history.record(Op("lag:az-b", "sample", T0 + i, T0 + i + 0.001, "ok", value=0.1))
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


def test_recovered_drill_of_6000_ops_renders(tmp_path: Path) -> None:
    """How fast is benchmarks/check_speed.py's."""
    history = drill_history(6000, outage=(0.0, 12.0))
    out = timeline_png(
        history,
        tmp_path / "charts" / "t.png",
        t0=T0,
        recovered_at=T0 + 12.4,
        title="2_pitr",
        thresholds={"P95 limit (s)": 2.5},
        rto_threshold_s=1800,
    )
    assert out == tmp_path / "charts" / "t.png"
    assert_png(out)


@pytest.mark.parametrize(
    ("name", "history", "recovered_at"),
    [
        ("empty", History(), None),
        ("not_recovered", drill_history(300, outage=(0.0, 1e9)), None),
        ("only_failures", drill_history(300, outage=(-1e9, 1e9)), None),
        ("only_failures_t1", drill_history(300, outage=(-1e9, 1e9)), T0 + 5),
    ],
)
def test_degenerate_histories_still_render(
    tmp_path: Path, name: str, history: History, recovered_at: float | None
) -> None:
    assert_png(
        timeline_png(
            history, tmp_path / f"{name}.png", t0=T0, recovered_at=recovered_at, title=name
        )
    )


def test_rolling_success_counts_ops_within_the_window() -> None:
    starts = np.array([0.0, 0.5, 1.0, 1.2, 3.0])
    ok = np.array([1.0, 0.0, 1.0, 1.0, 0.0])
    # windows (t-1, t]: {0}, {0, .5}, {.5, 1}, {.5, 1, 1.2}, {3}
    assert rolling_success(starts, ok, 1.0).tolist() == pytest.approx([1, 0.5, 0.5, 2 / 3, 0])


def test_rolling_p95_is_the_nearest_rank_of_the_window() -> None:
    starts = np.arange(20.0)
    latencies = np.arange(1.0, 21.0)
    p95 = rolling_p95(starts, latencies, window_s=100.0)
    assert p95[-1] == 19.0  # rank ceil(0.95 * 20) = 19
    assert p95[0] == 1.0 and p95[1] == 2.0  # one and two ops: the largest
    # A 2 s window holds 2 ops (t-2, t]: the P95 is the larger of them.
    assert rolling_p95(starts, latencies[::-1], window_s=2.0)[5].item() == 16.0


@pytest.fixture
def drawn(monkeypatch: pytest.MonkeyPatch) -> list:
    """The figures timeline_png drew, kept when it closes them."""
    figures: list = []
    close = chart.plt.close

    def keep(fig) -> None:
        figures.append(fig)
        close(fig)

    monkeypatch.setattr(chart.plt, "close", keep)
    return figures


def legend_labels(ax) -> list[str]:
    return [t.get_text() for t in ax.get_legend().get_texts()]


def test_p95_lines_thresholds_and_rto_limit_are_drawn(tmp_path: Path, drawn: list) -> None:
    history = drill_history(600, outage=(0.0, 12.0))
    timeline_png(
        history,
        tmp_path / "t.png",
        t0=T0,
        recovered_at=T0 + 12.4,
        title="t",
        thresholds={"P95 limit (s)": 2.5},
        rto_threshold_s=15,
    )
    ratio_ax, latency_ax = drawn[0].axes
    labels = legend_labels(latency_ax)
    assert "probe:/lookup P95 (rolling 1 s)" in labels
    assert "probe:/history P95 (rolling 1 s)" in labels
    assert not any("writer P95" in label or "lag:" in label for label in labels)
    assert not any("lag:" in label for label in legend_labels(ratio_ax))
    [limit] = [line for line in latency_ax.lines if line.get_label() == "P95 limit (s) 2.5"]
    assert limit.get_linestyle() == "--" and limit.get_ydata()[0] == 2500.0
    assert any(t.get_text() == "P95 limit (s) 2.5" for t in latency_ax.texts)
    [rto_line] = [line for line in ratio_ax.lines if line.get_label() == "RTO limit (T0 + 15 s)"]
    assert rto_line.get_xdata()[0] == 15
    # No op succeeded during the outage: the P95 line stops instead of bridging it.
    [p95] = [line for line in latency_ax.lines if line.get_label().startswith("probe:/lookup P95")]
    assert np.isnan(p95.get_ydata()).sum() == 1


def test_rto_limit_beyond_the_plot_is_named_in_the_legend(tmp_path: Path, drawn: list) -> None:
    history = drill_history(300, outage=(0.0, 12.0))
    timeline_png(
        history,
        tmp_path / "t.png",
        t0=T0,
        recovered_at=T0 + 12.4,
        title="t",
        rto_threshold_s=1800,
        p95_window_s=5,
    )
    ratio_ax, _ = drawn[0].axes
    assert "RTO limit T0 + 1800 s\n(beyond the plot)" in legend_labels(ratio_ax)
    assert ratio_ax.get_xlim()[1] < 100  # the axis is not stretched to the limit
    assert "probe:/lookup P95 (rolling 5 s)" in legend_labels(drawn[0].axes[1])


def test_the_two_views_of_a_recovery_are_drawn_with_the_alerts_spans(tmp_path):
    history = drill_history(600, (0.0, 5.0))
    series = {"/lookup": [(T0 + s, 0.0 if 1 <= s < 9 else 1.0) for s in range(-5, 30)]}
    alerts = [
        ("GlancyErrorRate /lookup", T0 + 2, T0 + 12),
        ("RedisUnreachable redis", T0 + 3, None),
    ]
    path = rto_views_png(
        history, series, tmp_path / "views.png", t0=T0, probe_window_s=1.0,
        marks=[("recovered (probes)", T0 + 5), ("recovered (Prometheus)", T0 + 9)],
        alerts=alerts, title="views",
    )  # fmt: skip
    image = mpimg.imread(path)
    assert image.shape[:2] == (FIG_SIZE_IN[1] * DPI, FIG_SIZE_IN[0] * DPI)
