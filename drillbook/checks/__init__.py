"""Checks: pure functions of a history that return a verdict with its figures."""

from drillbook.checks.duration import duration_check
from drillbook.checks.result import CheckResult
from drillbook.checks.rpo import lost_writes, rpo
from drillbook.checks.rto import rto

__all__ = ["CheckResult", "duration_check", "lost_writes", "rpo", "rto"]
