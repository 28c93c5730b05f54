from __future__ import annotations

import pytest

from drillbook.checks import error_rate, sla
from drillbook.workload import History, Op

T0 = 1_700_000_000.0


def probes(*outcomes: str, process: str = "probe:/lookup", every_s: float = 1.0) -> History:
    """One probe per `every_s` from T0, each taking 10 ms, with the given outcomes."""
    history = History()
    for i, outcome in enumerate(outcomes):
        start = T0 + i * every_s
        history.record(Op(process, "GET /lookup", start, start + 0.01, outcome))
    return history


def test_sla_at_the_threshold_passes():
    result = sla(probes(*["ok"] * 99, "fail"), 99)
    assert result.passed
    assert result.name == "SLA"
    assert result.unit == "%"
    assert result.figure == pytest.approx(99.0)
    assert result.threshold == 99
    assert result.explanation.startswith("SLA 99% ≥ 99%: 99 of 100 operations of probe:*")


def test_sla_below_threshold_fails_and_counts_timeouts_as_unsuccessful():
    result = sla(probes(*["ok"] * 97, "fail", "info", "info"), 99)
    assert not result.passed
    assert result.figure == pytest.approx(97.0)
    assert result.details["failed"] == 1
    assert result.details["indeterminate"] == 2
    assert result.explanation.startswith("SLA 97% < 99%")
    assert "(1 failed, 2 indeterminate)" in result.explanation


def test_sla_only_counts_ops_invoked_inside_the_window():
    history = probes("fail", "ok", "ok", "fail")  # invoked at T0, T0+1, T0+2, T0+3
    result = sla(history, 100, start=T0 + 1, end=T0 + 2)
    assert result.passed
    assert result.details["operations"] == 2


def test_sla_only_counts_the_prefix():
    history = probes("ok", "ok")
    history.record(Op("sql:az-a", "SELECT 1", T0, T0 + 0.01, "fail"))
    assert sla(history, 100).passed
    assert not sla(history, 100, prefix="sql:").passed


def test_sla_without_operations_is_not_measured():
    result = sla(probes("ok", "ok"), 99, start=T0 + 10)
    assert result.verdict == "not measured" and not result.passed
    assert result.figure is None
    assert result.explanation.startswith("SLA not measured: no operation of probe:* was invoked")


def test_error_rate_is_the_share_of_unsuccessful_operations():
    history = probes("ok", "fail", "info", "ok")
    assert error_rate(history) == pytest.approx(0.5)
    assert error_rate(history, start=T0 + 3) == 0.0
    assert error_rate(history, end=T0 - 1) is None
