"""Chart of the CRR lag measured by canary objects: how old the oldest unreplicated object
was, how many waited, the alert threshold and when replication was blocked and restored."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt

from drillbook.checks.crr import crr_samples
from drillbook.evidence.chart import DPI, FIG_SIZE_IN, draw_marks
from drillbook.workload.history import History


def crr_lag_png(
    history: History,
    path: Path,
    *,
    buckets: list[str],
    t0: float,
    marks: dict[str, float],
    alert_s: float | None,
    title: str,
) -> Path:
    """Lag (s) and objects waiting per bucket against seconds since T0; `marks` are drawn as
    labelled vertical lines (e.g. "s3-crr restored"), `alert_s` as a dashed threshold."""
    fig, lag_ax = plt.subplots(figsize=FIG_SIZE_IN, dpi=DPI)
    waiting_ax = lag_ax.twinx()
    try:
        for bucket in buckets:
            samples = crr_samples(history, bucket)
            x = [op.end - t0 for op in samples]
            lag_ax.plot(x, [op.value["lag_s"] for op in samples], label=f"CRR lag {bucket}")
            waiting_ax.plot(
                x,
                [op.value["pending"] for op in samples],
                color="tab:gray",
                linestyle=":",
                label=f"objects waiting {bucket}",
            )
        if alert_s is not None:
            lag_ax.axhline(alert_s, color="red", linestyle="--", label=f"alert {alert_s:g} s")
        draw_marks(lag_ax, t0, list(marks.items()), "T0 fault injected")
        lag_ax.set_xlabel("seconds since T0 (fault injected)")
        lag_ax.set_ylabel("CRR lag: age of the oldest unreplicated canary (s)")
        waiting_ax.set_ylabel("canaries not yet in the DR region")
        lines = lag_ax.get_legend_handles_labels()
        more = waiting_ax.get_legend_handles_labels()
        lag_ax.legend(lines[0] + more[0], lines[1] + more[1], loc="upper left", fontsize=8)
        lag_ax.set_title(title, fontsize=10, pad=18)
        fig.tight_layout()
        fig.savefig(path)
    finally:
        plt.close(fig)
    return path
