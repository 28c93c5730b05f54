"""The record of one drill run: Allure labels before it, and after it the history, the timeline
chart, the figures, the ledger entry and their hashes. It joins the drill and the evidence
library, so it sits above both: neither imports the other's side of it."""

from __future__ import annotations

import re
import time
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path

import allure

from drillbook.capabilities import Cloud
from drillbook.capabilities.operation import REMEDIATION
from drillbook.checks.sla import error_rate
from drillbook.commands import render as render_commands
from drillbook.drill import MONTHS, RESTORE, Drill, StepRef, Verdict
from drillbook.evidence.chart import timeline_png
from drillbook.evidence.crr_chart import crr_lag_png
from drillbook.evidence.ledger import LedgerEntry, write_entry
from drillbook.evidence.region_chart import region_probes, regions_png
from drillbook.evidence.signals import MetricDatum, signal_data
from drillbook.parts import every_part_first_time, part_outcomes
from drillbook.profile import Profile
from drillbook.runbook_lines import runbook_lines

SEED_TAG = re.compile(r"^seed_(\d+)(?:_(\d+))?$")
PLAN = Path(__file__).resolve().parents[1] / "docs" / "dr-plan.zh.md"


@dataclass(frozen=True)
class Recorded:
    id: str
    verdict: str
    path: Path


def label_drill(drill: Drill, runbook_url: str) -> None:
    """The calendar month as epic and a link to every seed section the feature is tagged with."""
    if drill.month is not None:
        allure.dynamic.epic(f"{drill.month:02d} {MONTHS[drill.month - 1]} drill")
    for tag in sorted(drill.tags):
        match = SEED_TAG.match(tag)
        if match:
            section = ".".join(g for g in match.groups() if g)
            allure.dynamic.link(f"{runbook_url}#{plan_anchor(section)}", name=f"plan §{section}")


def link_runbook_line(runbook_url: str, feature: Path, line: int) -> None:
    """Inside a running step: a link to the plan's section of the runbook line it executes,
    if a runbook comment names one (drillbook.runbook_lines)."""
    named = runbook_lines(feature).get(line)
    if named is not None:
        url = f"{runbook_url}#{plan_anchor(named.section)}"
        allure.attach(url, f"plan §{named.section}: {named.text}", allure.attachment_type.URI_LIST)


@cache  # asked for every linked step: the plan is read once per section
def plan_anchor(section: str) -> str:
    """The Markdown anchor of a numbered heading of the plan ("4.1" -> "41-年度演练日历")."""
    pattern = re.compile(rf"^#+\s+{re.escape(section)}\.?\s")
    for line in PLAN.read_text(encoding="utf-8").splitlines():
        if pattern.match(line):
            heading = line.lstrip("#").strip().lower()
            return re.sub(r"\s", "-", re.sub(r"[^\w\s-]", "", heading))
    return f"section-{section}"


def finish_drill(
    drill: Drill, profile: Profile, reports: Path, commands: list, cloud: Cloud | None = None
) -> Recorded:
    """Write and attach what the drill produced, and publish its signals to the `cloud`'s
    CloudWatch if it names a namespace; T1 is when this evidence is written."""
    drill.out_dir.mkdir(parents=True, exist_ok=True)
    t0 = drill.t0 if drill.t0 is not None else drill.started_at
    if len(drill.history):
        drill.evidence.attach_file(
            "history (JSON Lines)", drill.history.to_jsonl(drill.out_dir / "history.jsonl")
        )
    if drill.history.ops(prefix="probe:"):
        chart = timeline_png(
            drill.history,
            drill.out_dir / "timeline.png",
            t0=t0,
            recovered_at=drill.recovered_at,
            title=f"{drill.feature.stem}: {drill.scenario}",
            window_s=profile.workload["window_s"],
            thresholds=latency_limits(drill),
            rto_threshold_s=rto_limit(drill),
        )
        drill.evidence.attach_png("timeline: probe success and latency", chart)
    if region_probes(drill.history):
        chart = regions_png(
            drill.history,
            drill.out_dir / "regions.png",
            t0=t0,
            marks=[
                (f"{op.value['kind']} ({op.value['target']})", op.start)
                for op in drill.operations(REMEDIATION)
            ],
            title=f"{drill.feature.stem}: {drill.scenario}",
        )
        drill.evidence.attach_png("traffic by region: who answered the probes", chart)
    buckets = sorted({op.process.removeprefix("crr:") for op in drill.history.ops(prefix="crr:")})
    if buckets:
        chart = crr_lag_png(
            drill.history,
            drill.out_dir / "crr-lag.png",
            buckets=buckets,
            t0=t0,
            marks={f"{op.value['target']} restored": op.end for op in drill.operations(RESTORE)},
            alert_s=next((r.threshold for r in drill.results if r.name == "CRR lag alert"), None),
            title=f"{drill.feature.stem}: {drill.scenario}",
        )
        drill.evidence.attach_png("CRR lag by canary objects", chart)
    if commands:
        drill.evidence.attach_text("commands run by the environment", render_commands(commands))
    unpublished = None
    if cloud is not None and cloud.metrics_namespace is not None:
        unpublished = publish_signals(drill, cloud)
    parts = part_outcomes(drill.parts, drill.failed_line, drill.interrupted_line)
    if parts:
        # a figure whatever happened: a failed part stopped the scenario before any Then
        first = StepRef(drill.parts[0].line, "the parts of the scenario")
        drill.verdicts.append(Verdict(first, every_part_first_time(parts)))
        drill.evidence.attach_json("parts of the scenario (所有脚本一次通过)", parts)
    for verdict in drill.verdicts:
        drill.evidence.parameter(verdict.key, verdict.result.shown)
    figures = {
        "t0": t0,
        "recovered_at": drill.recovered_at,
        "operations": [asdict(op) for op in drill.operations()],
        "error_rate": error_rate(drill.history, start=t0),
        "checks": [{"step": str(v.step), **v.result.as_dict()} for v in drill.verdicts],
        "failure": drill.failure,
        "aborted": drill.aborted,
    }
    drill.evidence.attach_json("figures", figures)
    entry = LedgerEntry.from_verdicts(
        scenario=drill.scenario,
        script=f"{relative(drill.feature)}:{drill.line}",
        t0=t0,
        t1=None if drill.aborted else time.time(),  # an aborted drill is not closed
        verdicts=drill.verdicts,
        evidence=drill.evidence.items,
        owners=[f"{role}: {who}" for role, who in profile.owners.items()],
        error_rate=figures["error_rate"],
        recovered_at=drill.recovered_at,
        aborted=drill.aborted,
        draws=drill.draws,
        spot_checks=drill.spot_checks,
        drill_type=drill_type(drill),
        parts=parts,
    )
    if drill.failure:
        entry.add_issue("step", drill.failure)
    if unpublished:
        entry.add_issue("CloudWatch signals", unpublished)
    files = write_entry(reports / "ledger", entry)
    return Recorded(files.id, entry.verdict, files.json_path)


def drill_type(drill: Drill) -> str | None:
    """The calendar month the drill is (month_8), or the runbook feature it is."""
    if drill.month is not None:
        return f"month_{drill.month}"
    return drill.feature.stem if "runbook" in drill.tags else None


def publish_signals(drill: Drill, cloud: Cloud) -> str | None:
    """Publish the signals the drill measured and attach what was published; the reason when
    they could not be, for the ledger."""
    data = signal_data(drill.history, drill.feature.stem, drill.scenario)
    if not data:
        drill.evidence.attach_text("CloudWatch signals", "no signal was measured: none published")
        return None
    try:
        where = cloud.publish_metrics(data)
    except Exception as exc:  # whatever went wrong, the ledger entry is written, saying so
        failed = f"the drill's signals were not published to CloudWatch: {exc}"
        drill.evidence.attach_text("CloudWatch signals", failed)
        return failed
    lines = [f"published {where}"]
    series: dict[tuple, list[MetricDatum]] = {}
    for datum in data:
        series.setdefault((datum.name, datum.dimensions), []).append(datum)
    for (name, dimensions), points in series.items():
        labels = " ".join(f"{k}={v}" for k, v in dimensions)
        highest = max(point.value for point in points)
        lines.append(f"{name} {labels}: {len(points)} points, max {highest:g} {points[0].unit}")
    drill.evidence.attach_text("CloudWatch signals", "\n".join(lines))
    return None


def latency_limits(drill: Drill) -> dict[str, float]:
    """The latency limits the drill asserted, to draw on the chart."""
    return {
        f"{r.name} limit (s)": r.threshold
        for r in drill.results
        if r.name.startswith("P95") and r.unit == "s"
    }


def rto_limit(drill: Drill) -> float | None:
    rtos = [r for r in drill.results if r.name == "RTO" or r.name.startswith("RTO ")]
    return rtos[0].threshold if rtos else None


def relative(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(PLAN.parents[1]))
    except ValueError:
        return str(path)
