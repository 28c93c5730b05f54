from __future__ import annotations

from pathlib import Path

import matplotlib.image as mpimg
import numpy as np

from drillbook.evidence.chart import DPI, FIG_SIZE_IN
from drillbook.evidence.region_chart import NO_ANSWER, per_second, region_probes, regions_png
from drillbook.workload.history import History, Op

T0 = 1_715_500_000.0


def cutover() -> History:
    """Lookups answered by Singapore until T0, none for 3 s, then Tokyo; /history probes keep
    no region."""
    history = History()
    for i in range(100):
        at = T0 - 5 + i / 10
        if at < T0:
            outcome, value = "ok", {"degraded": False, "region": "ap-southeast-1"}
        elif at < T0 + 3:
            outcome, value = "fail", None
        else:
            outcome, value = "ok", {"degraded": False, "region": "ap-northeast-1"}
        history.record(Op("probe:/lookup", "GET", at, at + 0.01, outcome, value))
        history.record(Op("probe:/history", "GET", at, at + 0.01, "ok"))
    return history


def test_each_second_counts_who_answered_the_probes_that_name_a_region() -> None:
    ops = region_probes(cutover())
    assert {op.process for op in ops} == {"probe:/lookup"}
    counts = per_second(ops, T0, np.arange(-5, 6))
    assert list(counts) == ["ap-northeast-1", "ap-southeast-1", NO_ANSWER]
    assert counts["ap-southeast-1"].tolist() == [10] * 5 + [0] * 5
    assert counts[NO_ANSWER].tolist() == [0] * 5 + [10] * 3 + [0] * 2
    assert counts["ap-northeast-1"].sum() == 20


def test_the_chart_is_drawn(tmp_path: Path) -> None:
    marks = [("weight move", T0 + 2.5), ("weight move", T0 + 4.0)]
    out = regions_png(cutover(), tmp_path / "regions.png", t0=T0, marks=marks, title="March")
    height, width = mpimg.imread(out).shape[:2]
    assert (width, height) == (FIG_SIZE_IN[0] * DPI, FIG_SIZE_IN[1] * DPI)
