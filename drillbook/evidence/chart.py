"""Timeline chart of a drill for the report: success ratio and latency around T0/T1."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import PercentFormatter

from drillbook.checks.hit_rate import HitRate, hit_rates
from drillbook.checks.latency import nearest_rank
from drillbook.checks.rto import TARGET_RATIO
from drillbook.evidence.ledger import iso_utc8

if TYPE_CHECKING:
    from drillbook.workload.history import History, Op

# No display on CI machines. pyplot picks its backend at the first figure, so this suffices.
matplotlib.use("Agg")

FIG_SIZE_IN = (10, 6)
DPI = 110
MIN_LATENCY_MS = 0.1  # log axis: a 0 ms op is drawn at the floor
_OK_COLORS = ("tab:blue", "tab:green", "tab:purple", "tab:brown", "tab:cyan", "tab:olive")
_THRESHOLD_COLORS = ("dimgrey", "tab:pink", "tab:gray")
PROBE_PREFIX = "probe:"
WRITERS = ("writer", "redis:writer")


def timeline_png(
    history: History,
    path: str | Path,
    *,
    t0: float,
    recovered_at: float | None = None,
    title: str,
    window_s: float = 1.0,
    target_ratio: float = TARGET_RATIO,
    p95_window_s: float | None = None,
    thresholds: dict[str, float] | None = None,
    rto_threshold_s: float | None = None,
) -> Path:
    """Draw each probe endpoint and the writer against seconds since T0 and save a PNG.

    Top: success ratio over a rolling ``window_s`` with the target line. Bottom: latency of
    each op (log ms), failed ops in red, indeterminate ones (timeouts) in orange, and as a line
    each probe's P95 of successful ops over a rolling ``p95_window_s`` (default ``window_s``).
    ``thresholds`` maps a label to a latency limit in seconds, drawn dashed on the latency
    panel; ``rto_threshold_s`` marks T0 + RTO limit, or names it in the legend when off the
    plot. The Redis hit rate, when it was sampled, shares the top panel, with the samples the
    node did not answer marked at 0. Lag, SQL and Redis probes are left out: they are not what
    users of the service see.
    """
    path = Path(path)
    ops = [
        op for op in history.ops() if op.process.startswith(PROBE_PREFIX) or op.process in WRITERS
    ]
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
            draw_ratio(ratio_ax, process, process_ops, t0, window_s, color)
            _draw_latency(latency_ax, process, process_ops, t0, color)
            if process.startswith(PROBE_PREFIX):
                _draw_p95(latency_ax, process, process_ops, t0, p95_window_s or window_s, color)
        _draw_failures(latency_ax, ops, t0)
        _draw_hit_rate(ratio_ax, hit_rates(history), t0)
        ratio_ax.axhline(
            target_ratio,
            color="grey",
            linestyle="--",
            linewidth=1,
            label=f"target {target_ratio:.0%}",
        )
        for i, (label, limit_s) in enumerate((thresholds or {}).items()):
            _draw_threshold(
                latency_ax, label, limit_s, _THRESHOLD_COLORS[i % len(_THRESHOLD_COLORS)]
            )
        if rto_threshold_s is not None:
            _mark_rto_limit(ratio_ax, latency_ax, rto_threshold_s)
        for ax in (ratio_ax, latency_ax):
            _mark_t0_recovered(ax, t0, recovered_at, labelled=ax is ratio_ax)
        _label_axes(ratio_ax, latency_ax, window_s, recovered_at, empty=not ops)
        fig.subplots_adjust(left=0.09, right=0.76, top=0.86, bottom=0.09, hspace=0.12)
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=DPI)
    finally:
        plt.close(fig)
    return path


def draw_marks(ax, t0: float, marks: list[tuple[str, float]], t0_label: str) -> None:
    """T0 and `marks` ((label, epoch)) as labelled vertical lines, each label above the one
    before: two marks may be a second apart (a takeover and a weight move)."""
    for i, (name, at) in enumerate(sorted([(t0_label, t0), *marks], key=lambda m: m[1])):
        ax.axvline(at - t0, color="black", linewidth=1)
        ax.text(at - t0, 1.01 + 0.045 * i, name, transform=ax.get_xaxis_transform(),
                fontsize=8)  # fmt: skip


def rolling_success(starts: np.ndarray, ok: np.ndarray, window_s: float) -> np.ndarray:
    """Share of ok ops among those started within ``window_s`` up to each op (starts sorted)."""
    ok_before = np.concatenate(([0], np.cumsum(ok)))
    first = np.searchsorted(starts, starts - window_s, side="right")
    last = np.arange(1, len(starts) + 1)
    return (ok_before[last] - ok_before[first]) / (last - first)


def rolling_p95(starts: np.ndarray, latencies: np.ndarray, window_s: float) -> np.ndarray:
    """Nearest-rank P95 of the latencies started within ``window_s`` up to each op (sorted)."""
    first = np.searchsorted(starts, starts - window_s, side="right")
    return np.array(
        [nearest_rank(np.sort(latencies[lo : hi + 1]), 95) for hi, lo in enumerate(first)]
    )


def draw_ratio(ax, process: str, ops: list[Op], t0: float, window_s: float, color: str) -> None:
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


def _draw_p95(ax, process: str, ops: list[Op], t0: float, window_s: float, color: str) -> None:
    # Successful ops only, as the P95 checks count them: a fast refusal is not a good latency.
    ok_ops = [op for op in ops if op.outcome == "ok"]
    if not ok_ops:
        return
    starts = np.array([op.start for op in ok_ops])
    p95 = rolling_p95(starts, _latency_ms(ok_ops), window_s)
    # Where no op succeeded for a whole window (an outage) the line stops after the window
    # instead of holding a stale value across the gap.
    gaps = np.flatnonzero(np.diff(starts) > window_s) + 1
    x = np.insert(starts - t0, gaps, starts[gaps - 1] - t0 + window_s)
    ax.plot(
        x,
        np.insert(p95, gaps, np.nan),
        drawstyle="steps-post",
        color=color,
        linewidth=1.6,
        label=f"{process} P95 (rolling {window_s:g} s)",
    )


def _draw_hit_rate(ax, points: list[HitRate], t0: float) -> None:
    if not points:
        return
    ax.plot(
        [p.at - t0 for p in points],
        [np.nan if p.rate is None else p.rate for p in points],
        drawstyle="steps-post",
        color="tab:orange",
        linewidth=1.4,
        label="Redis cache hit rate (rolling 1 s)",
    )
    unreachable = [p.at - t0 for p in points if not p.reachable]
    if unreachable:
        ax.plot(
            unreachable,
            [0.0] * len(unreachable),
            linestyle="none",
            marker="x",
            color="red",
            label=f"Redis unreachable ({len(unreachable)} samples)",
        )


def _draw_threshold(ax, label: str, limit_s: float, color: str) -> None:
    limit_ms = limit_s * 1000.0
    ax.axhline(limit_ms, color=color, linestyle="--", linewidth=1.2, label=f"{label} {limit_s:g}")
    ax.text(
        0.995,
        limit_ms,
        f"{label} {limit_s:g}",
        transform=ax.get_yaxis_transform(),
        ha="right",
        va="top",  # below the line, which is often the top of the axis
        color=color,
        fontsize=8,
        bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 1},
        clip_on=True,
    )


def _mark_rto_limit(ratio_ax, latency_ax, rto_s: float) -> None:
    """T0 + RTO limit as a dashed line, or a legend note when it lies beyond the data."""
    low, high = ratio_ax.get_xlim()
    if low <= rto_s <= high:
        for ax in (ratio_ax, latency_ax):
            ax.axvline(
                rto_s,
                color="firebrick",
                linestyle="--",
                linewidth=1.2,
                label=f"RTO limit (T0 + {rto_s:g} s)" if ax is ratio_ax else None,
            )
    else:
        # An empty handle: the limit is named without stretching the axis to it.
        ratio_ax.plot([], [], " ", label=f"RTO limit T0 + {rto_s:g} s\n(beyond the plot)")


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


def _mark_t0_recovered(ax, t0: float, recovered_at: float | None, *, labelled: bool) -> None:
    """Vertical lines at T0 and at the recovery (the end of the RTO; T1, the closure, comes
    later, when the evidence is written); on the top panel also named and in the legend."""
    marks = [(0.0, "T0", "black", "T0 fault injected")]
    if recovered_at is not None:
        after = recovered_at - t0
        marks.append((after, "recovered", "green", f"recovered, end of the RTO (+{after:.1f} s)"))
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


def _label_axes(
    ratio_ax, latency_ax, window_s: float, recovered_at: float | None, *, empty: bool
) -> None:
    ratio_ax.set_ylabel(f"success (rolling {window_s:g} s)")
    ratio_ax.set_ylim(-0.03, 1.05)
    ratio_ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    latency_ax.set_ylabel("latency (ms, log)")
    latency_ax.set_yscale("log")
    latency_ax.set_xlabel("seconds since T0 (fault injected)")
    if recovered_at is None:
        ratio_ax.text(
            0.99,
            0.5,
            "not recovered",
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
        # Room for the threshold lines, the only latency data there is.
        latency_ax.set_ylim(MIN_LATENCY_MS, max(1000.0, latency_ax.get_ylim()[1]))
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
