"""Checks: pure functions of a history that return a verdict with its figures."""

from drillbook.checks.degradation import degraded_answers
from drillbook.checks.duration import duration_check
from drillbook.checks.hit_rate import hit_rate_recovery, hit_rates, signal_raised
from drillbook.checks.latency import p95_at_most, p95_vs_baseline, percentiles
from drillbook.checks.quota import QuotaSample, quota_consistency
from drillbook.checks.restart import accepting_again, came_back_empty
from drillbook.checks.result import CheckResult, not_measured
from drillbook.checks.rpo import lost_writes, rpo, rpo_lag
from drillbook.checks.rto import outage_seen, rto
from drillbook.checks.sla import error_rate, sla

__all__ = [
    "CheckResult",
    "not_measured",
    "QuotaSample",
    "accepting_again",
    "came_back_empty",
    "degraded_answers",
    "duration_check",
    "error_rate",
    "hit_rate_recovery",
    "hit_rates",
    "lost_writes",
    "outage_seen",
    "p95_at_most",
    "p95_vs_baseline",
    "percentiles",
    "quota_consistency",
    "rpo",
    "rpo_lag",
    "rto",
    "signal_raised",
    "sla",
]
