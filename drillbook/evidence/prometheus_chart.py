"""The two views of one recovery, for the report: each endpoint's success as the probes saw it
(every request) and as Prometheus computed it (a rate over a window of scrapes), with T0, both
recovery instants and the alerts' firing spans."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import PercentFormatter

from drillbook.checks.rto import TARGET_RATIO
from drillbook.evidence.chart import DPI, FIG_SIZE_IN, draw_marks, draw_ratio
from drillbook.workload.history import History

# An alert's firing span: (name, from, to or None while still firing), epoch s
AlertSpan = tuple[str, float, float | None]


def rto_views_png(
    history: History,
    series: dict[str, list[tuple[float, float]]],
    path: Path,
    *,
    t0: float,
    probe_window_s: float,
    marks: list[tuple[str, float]],
    alerts: list[AlertSpan],
    title: str,
) -> Path:
    """Probes' rolling success (solid) and Prometheus's (dashed) per endpoint; `marks` as
    labelled vertical lines; each alert's firing span shaded under the curves."""
    fig, ax = plt.subplots(figsize=FIG_SIZE_IN, dpi=DPI)
    try:
        colors = iter(plt.rcParams["axes.prop_cycle"].by_key()["color"])
        end = max((op.end for op in history.ops()), default=t0)
        for endpoint, points in sorted(series.items()):
            color = next(colors)
            ops = history.ops(process=f"probe:{endpoint}")
            if ops:
                draw_ratio(ax, f"probes {endpoint}", ops, t0, probe_window_s, color)
            if points:
                times, ratios = np.array(points).T
                ax.plot(times - t0, ratios, "--", drawstyle="steps-post", color=color,
                        linewidth=1.6, label=f"Prometheus {endpoint}")  # fmt: skip
        for i, (name, fired, resolved) in enumerate(sorted(alerts, key=lambda a: a[1])):
            ax.axvspan(fired - t0, (resolved or end) - t0, color="tab:red", alpha=0.12)
            ax.text(fired - t0, 0.02 + 0.05 * i, f"alert {name}", fontsize=8, color="tab:red")
        draw_marks(ax, t0, marks, "T0 fault injected")
        ax.axhline(TARGET_RATIO, color="dimgrey", linestyle=":", linewidth=1)
        ax.set_ylim(-0.02, 1.05)
        ax.yaxis.set_major_formatter(PercentFormatter(1.0))
        ax.set_xlabel("seconds since T0 (fault injected)")
        ax.set_ylabel("success")
        ax.legend(loc="lower right", fontsize=8)
        ax.set_title(title, fontsize=10, pad=12 + 14 * (len(marks) + 1))
        fig.tight_layout()
        fig.savefig(path)
    finally:
        plt.close(fig)
    return path
