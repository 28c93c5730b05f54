"""The quarterly report of plan section 7 (持续改进): RTO/RPO per drill, closure time (T1−T0),
the spot-check pass rate and the open action items of a quarter, as trend charts (PNG) and one
Markdown page, read from the ledger alone (the entries' JSON), so anyone holding the ledger
gets the same page. The plan archives it as `reports/<year>/Q<qtr>`; this writes
`<out>/<year>/Q<qtr>.md` and its charts beside it.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from drillbook.evidence.actions import ActionItem, action_items, drill_type_of, t0_of
from drillbook.evidence.ledger import CLOSURE_LIMIT_S
from drillbook.spot_check import PASSED

QUARTER = re.compile(r"(\d{4})Q([1-4])")


def parse_quarter(text: str) -> tuple[int, int]:
    """ "2026Q3" -> (2026, 3)."""
    match = QUARTER.fullmatch(text)
    if match is None:
        raise ValueError(f"a quarter is written YYYYQn, e.g. 2026Q3; got {text!r}")
    return int(match.group(1)), int(match.group(2))


def quarter_of(entry: Mapping[str, Any]) -> tuple[int, int]:
    t0 = t0_of(entry)
    return t0.year, (t0.month - 1) // 3 + 1


@dataclass
class DrillFigures:
    """One drill's runs in the quarter: what each measured, in run order; None where a run
    did not recover or never closed."""

    runs: int = 0
    passed: int = 0
    rto_s: list[float | None] = field(default_factory=list)
    rpo_s: list[float | None] = field(default_factory=list)
    closure_s: list[float | None] = field(default_factory=list)


@dataclass
class QuarterSummary:
    year: int
    quarter: int
    entries: list[Mapping[str, Any]]
    drills: dict[str, DrillFigures]
    spot_checks: int
    spot_checks_passed: int
    open_items: list[ActionItem]

    @property
    def label(self) -> str:
        return f"{self.year}Q{self.quarter}"

    @property
    def spot_check_pass_rate(self) -> float | None:
        return self.spot_checks_passed / self.spot_checks if self.spot_checks else None


def summarize(entries: Iterable[Mapping[str, Any]], year: int, quarter: int) -> QuarterSummary:
    """The quarter's figures. Action items count as open at the quarter's end: opened by an
    entry up to then and closed by none up to then."""
    entries = list(entries)
    upto = [e for e in entries if quarter_of(e) <= (year, quarter)]
    inside = [e for e in upto if quarter_of(e) == (year, quarter)]
    drills: dict[str, DrillFigures] = defaultdict(DrillFigures)
    for entry in inside:
        figures = drills[_drill(entry)]
        figures.runs += 1
        figures.passed += entry["verdict"] == "pass"
        figures.rto_s += _seconds(entry, "RTO")
        figures.rpo_s += _seconds(entry, "RPO")
        figures.closure_s.append(entry.get("t1_minus_t0_s"))
    checks = [line for entry in inside for line in entry.get("spot_checks", [])]
    return QuarterSummary(
        year=year,
        quarter=quarter,
        entries=inside,
        drills=dict(sorted(drills.items(), key=lambda kv: _month_order(kv[0]))),
        spot_checks=len(checks),
        spot_checks_passed=sum(line.get("备注") == PASSED for line in checks),
        open_items=[item for item in action_items(upto) if item.is_open],
    )


def _drill(entry: Mapping[str, Any]) -> str:
    return drill_type_of(entry) or entry["scenario"]


def _seconds(entry: Mapping[str, Any], prefix: str) -> list[float | None]:
    """The figures in seconds of the entry's checks named `prefix`... (RTO, RPO ...); None for
    one that measured nothing (not recovered)."""
    return [
        f["figure"]
        for f in entry.get("figures", {}).values()
        if f.get("check", "").startswith(prefix) and f.get("unit") == "s"
    ]


def _month_order(drill_type: str) -> tuple[int, str]:
    match = re.fullmatch(r"month_(\d+)", drill_type)
    return (int(match.group(1)), "") if match else (13, drill_type)


def write_quarter(entries: Iterable[Mapping[str, Any]], year: int, quarter: int, out: Path) -> Path:
    """`<out>/<year>/Q<quarter>.md` with its charts; the page's path."""
    summary = summarize(entries, year, quarter)
    folder = out / str(year)
    folder.mkdir(parents=True, exist_ok=True)
    charts = [
        _trend_png(summary, folder / f"Q{quarter}-rto-rpo.png"),
        _closure_png(summary, folder / f"Q{quarter}-closure.png"),
    ]
    page = folder / f"Q{quarter}.md"
    page.write_text(render(summary, [chart.name for chart in charts]), encoding="utf-8")
    return page


def render(summary: QuarterSummary, charts: list[str]) -> str:
    rate = summary.spot_check_pass_rate
    lines = [
        f"# 演练季度汇总 (quarterly DR report) {summary.label}",
        "",
        f"- drills run: {len(summary.entries)}, passed: "
        f"{sum(e['verdict'] == 'pass' for e in summary.entries)}",
        "- 抽查通过率 (spot-check pass rate): "
        + (
            "no spot check this quarter"
            if rate is None
            else f"{rate:.0%} ({summary.spot_checks_passed} of {summary.spot_checks})"
        ),
        f"- open action items at the quarter's end: {len(summary.open_items)}",
        "",
        "| drill | runs | passed | RTO (worst) | RPO (worst) | T1−T0 (longest) |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    lines += [
        f"| {drill} | {f.runs} | {f.passed} | {_worst(f.rto_s)} | {_worst(f.rpo_s)} | "
        f"{_worst(f.closure_s)} |"
        for drill, f in summary.drills.items()
    ] or ["| — | 0 | 0 | | | |"]
    lines += ["", "## 未闭环行动项 (open action items)", "", "| id | drill | check | owner | due |"]
    lines += ["| --- | --- | --- | --- | --- |"]
    lines += [
        f"| {i.id} | {i.drill} | {i.check} | {i.owner or 'to assign'} | {i.due or 'to set'} |"
        for i in summary.open_items
    ] or ["| — | none | | | |"]
    lines += ["", "## 趋势图 (trends)", ""] + [f"![{name}]({name})" for name in charts]
    return "\n".join(lines) + "\n"


def _worst(values: list[float | None]) -> str:
    """The largest figure; a run without one (not recovered, never closed) is worse still."""
    if None in values:
        return f"not recovered ({values.count(None)} of {len(values)})"
    return f"{max(values):.2f} s" if values else "not measured"


def _trend_png(summary: QuarterSummary, path: Path) -> Path:
    """RTO and RPO of every run that measured them, by drill, in run order."""
    from drillbook.evidence.chart import DPI, FIG_SIZE_IN, plt  # matplotlib only when drawing

    fig, (rto_ax, rpo_ax) = plt.subplots(2, 1, figsize=FIG_SIZE_IN, dpi=DPI, sharex=True)
    try:
        by_time = sorted(summary.entries, key=t0_of)
        for drill in summary.drills:
            runs = [e for e in by_time if _drill(e) == drill]
            for ax, prefix in ((rto_ax, "RTO"), (rpo_ax, "RPO")):
                points = [(t0_of(e), v) for e in runs for v in _seconds(e, prefix) if v is not None]
                if points:
                    ax.plot(*zip(*points, strict=True), marker="o", label=drill)
        rto_ax.set_ylabel("RTO (s)")
        rpo_ax.set_ylabel("RPO (s)")
        rto_ax.set_title(f"RTO and RPO per run, {summary.label}")
        if summary.drills:
            rto_ax.legend(fontsize="small", loc="upper left")
        fig.autofmt_xdate()
        fig.savefig(path)
    finally:
        plt.close(fig)
    return path


def _closure_png(summary: QuarterSummary, path: Path) -> Path:
    """T1−T0 of every run that closed, against the plan's 120 minutes."""
    from drillbook.evidence.chart import DPI, FIG_SIZE_IN, plt  # matplotlib only when drawing

    fig, ax = plt.subplots(figsize=FIG_SIZE_IN, dpi=DPI)
    try:
        runs = [e for e in summary.entries if e.get("t1_minus_t0_s") is not None]
        ax.scatter(
            [t0_of(e) for e in runs],
            [e["t1_minus_t0_s"] / 60 for e in runs],
            c=["tab:green" if e["verdict"] == "pass" else "tab:red" for e in runs],
        )
        ax.axhline(CLOSURE_LIMIT_S / 60, color="dimgrey", linestyle="--", label="limit 120 min")
        ax.set_ylabel("T1-T0 (min)")
        ax.set_title(f"Closure time (T1-T0) per run, {summary.label} (red: not passed)")
        ax.legend(loc="upper left")
        fig.autofmt_xdate()
        fig.savefig(path)
    finally:
        plt.close(fig)
    return path
