"""Chart of where clients' requests went during a cutover: per second, the probes answered by
each region (the service's X-Region header) and those that got no answer, with the drill's
faults and remediations marked. Runbook 5.2's monitoring view: traffic leaving one region
and arriving in the other, and the gap between."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from drillbook.evidence.chart import DPI, FIG_SIZE_IN, PROBE_PREFIX, draw_marks
from drillbook.workload.history import History, Op
from drillbook.workload.probes import answer_flag

NO_ANSWER = "no answer"
# what an answer that names no region counts as
UNSAID = "region not said"


def answered_by(op: Op) -> str:
    if op.outcome != "ok":
        return NO_ANSWER
    return answer_flag(op, "region") or UNSAID


def region_probes(history: History) -> list[Op]:
    """The operations of the probes whose answers name a region (lookups do; not every
    endpoint's answer is kept), sorted by start."""
    ops = history.ops(prefix=PROBE_PREFIX)
    naming = {op.process for op in ops if answered_by(op) not in (NO_ANSWER, UNSAID)}
    return [op for op in ops if op.process in naming]


def per_second(ops: list[Op], t0: float, bins: np.ndarray) -> dict[str, np.ndarray]:
    """Who answered -> how many probes invoked in each bin (seconds since T0) they answered;
    the regions sorted, the probes with no answer last."""
    starts: dict[str, list[float]] = {}
    for op in ops:
        starts.setdefault(answered_by(op), []).append(op.start - t0)
    order = sorted(starts, key=lambda key: (key == NO_ANSWER, key))
    return {key: np.histogram(starts[key], bins=bins)[0] for key in order}


def regions_png(
    history: History, path: Path, *, t0: float, marks: list[tuple[str, float]], title: str
) -> Path:
    """Stacked bars of the probes per second by the region that answered, failures on top in
    red; `marks` ((label, epoch), a label may recur) drawn as labelled vertical lines."""
    ops = region_probes(history)
    first = np.floor(min(op.start for op in ops) - t0)
    last = np.ceil(max(op.start for op in ops) - t0) + 1
    bins = np.arange(first, last + 1)
    counts = per_second(ops, t0, bins)
    fig, ax = plt.subplots(figsize=FIG_SIZE_IN, dpi=DPI)
    try:
        bottom = np.zeros(len(bins) - 1)
        for key, count in counts.items():
            color = "tab:red" if key == NO_ANSWER else None
            ax.bar(
                bins[:-1], count, width=1.0, align="edge", bottom=bottom, label=key,
                color=color,
            )  # fmt: skip
            bottom += count
        draw_marks(ax, t0, marks, "T0 fault injected")
        ax.set_xlabel("seconds since T0 (fault injected)")
        ax.set_ylabel("probes per second, by the region that answered")
        ax.legend(loc="lower left", fontsize=8)
        ax.set_title(title, fontsize=10, pad=12 + 14 * (len(marks) + 1))
        fig.tight_layout()
        fig.savefig(path)
    finally:
        plt.close(fig)
    return path
