"""Timeline chart of a drill for the report: success ratio and latency around T0/T1."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import PercentFormatter

from drillbook.evidence.ledger import iso_utc8

if TYPE_CHECKING:
    from drillbook.workload.history import History, Op

# No display on CI machines. pyplot picks its backend at the first figure, so this suffices.
matplotlib.use("Agg")

FIG_SIZE_IN = (10, 6)
DPI = 110
MIN_LATENCY_MS = 0.1  # log axis: a 0 ms op is drawn at the floor
_OK_COLORS = ("tab:blue", "tab:green", "tab:purple", "tab:brown", "tab:cyan", "tab:olive")


def timeline_png(
    history: History,
    path: str | Path,
    *,
    t0: float,
    t1: float | None = None,
    title: str,
    window_s: float = 1.0,
    target_ratio: float = 0.99,
) -> Path:
    """Draw every process of the history against seconds since T0 and save a PNG.

    Top: success ratio over a rolling ``window_s`` with the target line. Bottom: latency of
    each op (log ms); failed ops in red, indeterminate ones (timeouts) in orange.
    """
    path = Path(path)
    ops = history.ops()
    by_process: dict[str, list[Op]] = {}
    for op in ops:
        by_process.setdefault(op.process, []).append(op)

    fig, (ratio_ax, latency_ax) = plt.subplots(
        2, 1, figsize=FIG_SIZE_IN, dpi=DPI, sharex=True, height_ratios=(1, 1.3)
    )
    try:
        failed = sum(op.outcome != "ok" for op in ops)
        fig.suptitle(f"{title}\nT0 {iso_utc8(t0)} · {len(ops)} ops, {failed} not ok", fontsize=11)
        for i, (process, process_ops) in enumerate(sorted(by_process.items())):
            color = _OK_COLORS[i % len(_OK_COLORS)]
            _draw_ratio(ratio_ax, process, process_ops, t0, window_s, color)
            _draw_latency(latency_ax, process, process_ops, t0, color)
        _draw_failures(latency_ax, ops, t0)
        ratio_ax.axhline(
            target_ratio,
            color="grey",
            linestyle="--",
            linewidth=1,
            label=f"target {target_ratio:.0%}",
        )
        for ax in (ratio_ax, latency_ax):
            _mark_t0_t1(ax, t0, t1, labelled=ax is ratio_ax)
        _label_axes(ratio_ax, latency_ax, window_s, t1, empty=not ops)
        fig.subplots_adjust(left=0.09, right=0.76, top=0.86, bottom=0.09, hspace=0.12)
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=DPI)
    finally:
        plt.close(fig)
    return path


def rolling_success(starts: np.ndarray, ok: np.ndarray, window_s: float) -> np.ndarray:
    """Share of ok ops among those started within ``window_s`` up to each op (starts sorted)."""
    ok_before = np.concatenate(([0], np.cumsum(ok)))
    first = np.searchsorted(starts, starts - window_s, side="right")
    last = np.arange(1, len(starts) + 1)
    return (ok_before[last] - ok_before[first]) / (last - first)


def _draw_ratio(ax, process: str, ops: list[Op], t0: float, window_s: float, color: str) -> None:
    starts = np.array([op.start for op in ops])
    ok = np.array([op.outcome == "ok" for op in ops], dtype=float)
    ax.plot(
        starts - t0,
        rolling_success(starts, ok, window_s),
        drawstyle="steps-post",
        color=color,
        linewidth=1.4,
        label=process,
    )


def _draw_latency(ax, process: str, ops: list[Op], t0: float, color: str) -> None:
    ok_ops = [op for op in ops if op.outcome == "ok"]
    if not ok_ops:
        return
    ax.plot(
        [op.start - t0 for op in ok_ops],
        _latency_ms(ok_ops),
        linestyle="none",
        marker=".",
        markersize=3,
        color=color,
        alpha=0.6,
        label=f"{process} ok",
    )


def _draw_failures(ax, ops: list[Op], t0: float) -> None:
    for outcome, color, marker, label in (
        ("fail", "red", "x", "failed"),
        ("info", "darkorange", "^", "indeterminate"),
    ):
        bad = [op for op in ops if op.outcome == outcome]
        if bad:
            ax.plot(
                [op.start - t0 for op in bad],
                _latency_ms(bad),
                linestyle="none",
                marker=marker,
                markersize=4,
                color=color,
                label=f"{label} ({len(bad)})",
            )


def _latency_ms(ops: list[Op]) -> np.ndarray:
    return np.maximum(np.array([op.latency for op in ops]) * 1000.0, MIN_LATENCY_MS)


def _mark_t0_t1(ax, t0: float, t1: float | None, *, labelled: bool) -> None:
    """Vertical T0/T1 lines; on the top panel also named above the plot and in the legend."""
    marks = [(0.0, "T0", "black", "T0 fault injected")]
    if t1 is not None:
        marks.append((t1 - t0, "T1", "green", f"T1 recovered (+{t1 - t0:.1f} s)"))
    for x, short_label, color, label in marks:
        ax.axvline(x, color=color, linewidth=1.5, label=label if labelled else None)
        if labelled:
            ax.text(
                x,
                1.02,
                short_label,
                transform=ax.get_xaxis_transform(),
                ha="center",
                va="bottom",
                color=color,
                fontsize=9,
                fontweight="bold",
            )


def _label_axes(ratio_ax, latency_ax, window_s: float, t1: float | None, *, empty: bool) -> None:
    ratio_ax.set_ylabel(f"success (rolling {window_s:g} s)")
    ratio_ax.set_ylim(-0.03, 1.05)
    ratio_ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    latency_ax.set_ylabel("latency (ms, log)")
    latency_ax.set_yscale("log")
    latency_ax.set_xlabel("seconds since T0 (fault injected)")
    if t1 is None:
        ratio_ax.text(
            0.99,
            0.5,
            "T1: not recovered",
            transform=ratio_ax.transAxes,
            ha="right",
            va="center",
            color="red",
            fontsize=12,
            fontweight="bold",
            bbox={"facecolor": "white", "edgecolor": "red"},
        )
    if empty:
        ratio_ax.set_xlim(-1.0, 1.0)
        latency_ax.set_ylim(MIN_LATENCY_MS, 1000.0)
        latency_ax.text(
            0.5,
            0.5,
            "no operations recorded",
            transform=latency_ax.transAxes,
            ha="center",
            va="center",
            fontsize=12,
            color="dimgrey",
            bbox={"facecolor": "white", "edgecolor": "none"},
        )
    for ax in (ratio_ax, latency_ax):
        ax.grid(True, alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
