"""The plan's monitoring signals (seed section 2) as the drill measured them, as CloudWatch
metric data: what an SRE opening the drill's dashboard, or `aws cloudwatch
get-metric-statistics`, reads next to the AWS services' own metrics.

Each datum keeps the time it was measured, so a drill published when it ends still draws its
curves at the right moments. Every metric carries the drill's feature as its `Drill`
dimension and its scenario as `Scenario`, so two scenarios of a feature stay two series:
- `ReplicationLag` (Seconds, `Standby`): pg_stat_replication.replay_lag of the standby as its
  primary reported it (the plan's `pg_replication_lag`), from the lag samples while it streamed;
  a sample with no walsender for the standby is no figure, and is left out.
- `CrrLag` (Seconds, `Bucket`): the age of the oldest canary object not yet replicated.
- `ProbeErrorRate` (Percent) and `ProbeLatencyP95` (Seconds), per probe (`Probe`) and per
  PROBE_PERIOD_S of its operations by the time they were invoked: the share not "ok", and the
  nearest-rank P95 of the successful ones, as the SLA and latency checks define them; a period
  in which no operation succeeded has an error rate and no P95.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime

from drillbook.checks.latency import nearest_rank
from drillbook.workload.history import History, Op

NAMESPACE = "Glancy/DR"
Dimensions = tuple[tuple[str, str], ...]
PROBE_PERIOD_S = 10.0


@dataclass(frozen=True)
class MetricDatum:
    name: str
    value: float
    unit: str  # a CloudWatch StandardUnit
    at: float  # epoch seconds
    dimensions: Dimensions

    def as_cloudwatch(self) -> dict:
        """One entry of PutMetricData's MetricData."""
        return {
            "MetricName": self.name,
            "Value": self.value,
            "Unit": self.unit,
            "Timestamp": datetime.fromtimestamp(self.at, UTC),
            "Dimensions": [{"Name": k, "Value": v} for k, v in self.dimensions],
        }


def signal_data(history: History, drill: str, scenario: str) -> list[MetricDatum]:
    """Every datum of the signals `history` measured, in time order within each metric."""
    named = (("Drill", drill), ("Scenario", scenario))
    return [
        *_replication_lag(history, named),
        *_crr_lag(history, named),
        *_probe_signals(history, named),
    ]


def _replication_lag(history: History, named: Dimensions) -> list[MetricDatum]:
    data = []
    for op in history.ops(prefix="lag:"):
        value = op.value if isinstance(op.value, dict) else {}
        if op.outcome != "ok" or not value.get("streaming"):
            continue
        # NULL once the standby has replayed everything and the primary is idle: no lag
        lag = value.get("primary_replay_lag_s") or 0.0
        standby = op.process.removeprefix("lag:")
        dimensions = (*named, ("Standby", standby))
        data.append(MetricDatum("ReplicationLag", lag, "Seconds", op.end, dimensions))
    return data


def _crr_lag(history: History, named: Dimensions) -> list[MetricDatum]:
    data = []
    for op in history.ops(prefix="crr:"):
        value = op.value if isinstance(op.value, dict) else {}
        if value.get("lag_s") is None:
            continue
        dimensions = (*named, ("Bucket", op.process.removeprefix("crr:")))
        data.append(MetricDatum("CrrLag", value["lag_s"], "Seconds", op.end, dimensions))
    return data


def _probe_signals(history: History, named: Dimensions) -> list[MetricDatum]:
    # grouped by the period each operation was invoked in, as the checks window operations
    periods: dict[tuple[str, float], list[Op]] = defaultdict(list)
    for op in history.ops(prefix="probe:"):
        periods[op.process, op.start - op.start % PROBE_PERIOD_S].append(op)
    data = []
    for (process, start), ops in sorted(periods.items()):
        dimensions = (*named, ("Probe", process.removeprefix("probe:")))
        at = start + PROBE_PERIOD_S
        failed = sum(op.outcome != "ok" for op in ops)
        data.append(
            MetricDatum("ProbeErrorRate", 100 * failed / len(ops), "Percent", at, dimensions)
        )
        latencies = sorted(op.latency for op in ops if op.outcome == "ok")
        if latencies:
            p95 = nearest_rank(latencies, 95)
            data.append(MetricDatum("ProbeLatencyP95", p95, "Seconds", at, dimensions))
    return data
