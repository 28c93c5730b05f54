"""Alerts fired, annotated and resolved, and the RTO by Prometheus: passing and failing."""

from __future__ import annotations

from datetime import UTC, datetime

from drillbook.capabilities.monitoring import RequestCounter
from drillbook.checks.alerts import (
    alert_annotated,
    alert_events,
    alert_fired,
    alert_resolved,
    client_traces,
    firing_spans,
)
from drillbook.checks.prometheus_rto import rto_by_prometheus, success_ratio
from drillbook.workload import History, Op

FAULT = 1_700_000_000.0
TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
RUNBOOK = "docs/dr-plan.zh.md#2-rtorpo-与监控基线"


def rfc3339(epoch: float) -> str:
    """As Alertmanager writes it: nanoseconds and a Z."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "123Z"


def notification(
    received: float,
    status: str,
    starts: float,
    *,
    name: str = "GlancyErrorRate",
    endpoint: str = "/history",
    annotations: dict | None = None,
) -> dict:
    alert = {
        "status": status,
        "labels": {"alertname": name, "endpoint": endpoint, "severity": "page"},
        "annotations": {"runbook_url": RUNBOOK, "trace_id": TRACE}
        if annotations is None
        else annotations,
        "startsAt": rfc3339(starts),
        "endsAt": "0001-01-01T00:00:00Z",
        "fingerprint": f"{name}{endpoint}",
    }
    return {"received_at": received, "status": status, "alerts": [alert]}


def events(*notifications: dict):
    return alert_events(list(notifications))


def test_an_alert_that_fired_after_the_fault_within_the_limit_passes():
    result = alert_fired(
        events(notification(FAULT + 3, "firing", FAULT + 2)), "GlancyErrorRate", FAULT, 60
    )
    assert result.passed and round(result.figure, 3) == 3.0


def test_an_alert_later_than_the_limit_fails_with_its_delay():
    result = alert_fired(
        events(notification(FAULT + 75, "firing", FAULT + 74)), "GlancyErrorRate", FAULT, 60
    )
    assert not result.passed and round(result.figure) == 75
    assert "> 60 s" in result.explanation


def test_an_alert_that_never_fired_fails_naming_those_that_did():
    other = notification(FAULT + 3, "firing", FAULT + 2, name="RedisUnreachable")
    result = alert_fired(events(other), "GlancyErrorRate", FAULT, 60)
    assert not result.passed and result.measured and result.note == "did not fire"
    assert "RedisUnreachable" in result.explanation


def test_an_alert_already_firing_before_the_fault_does_not_count():
    result = alert_fired(
        events(notification(FAULT + 1, "firing", FAULT - 30)), "GlancyErrorRate", FAULT, 60
    )
    assert not result.passed
    assert "before the fault" in result.explanation


def test_an_alert_with_its_runbook_section_and_a_clients_trace_id_is_annotated():
    history = History()

    def request(start: float, end: float, outcome: str, trace: str | None) -> Op:
        return Op("probe:/history", "GET", start, end, outcome, trace_id=trace)

    history.record(request(FAULT + 1, FAULT + 1.1, "fail", TRACE))
    history.record(request(FAULT + 2, FAULT + 2.1, "ok", "b" * 32))
    # the service may answer 5xx after the client's timeout
    history.record(request(FAULT + 2, FAULT + 3, "info", "c" * 32))
    # before the fault: a consumer-lag alert names the request that queued the oldest task
    history.record(request(FAULT - 2, FAULT - 1, "ok", "d" * 32))
    history.record(request(FAULT + 2, FAULT + 2.1, "ok", None))  # a client that sends none
    traces = client_traces(history)
    assert traces == {TRACE, "b" * 32, "c" * 32, "d" * 32}
    result = alert_annotated(
        events(notification(FAULT + 3, "firing", FAULT + 2)), "GlancyErrorRate", FAULT, traces
    )
    assert result.passed and result.figure == 0


def test_a_trace_id_of_no_request_the_drills_clients_made_fails():
    result = alert_annotated(
        events(notification(FAULT + 3, "firing", FAULT + 2)), "GlancyErrorRate", FAULT, {"a" * 32}
    )
    assert not result.passed and result.figure == 1
    assert "none of the 1 requests" in result.explanation


def test_with_no_trace_kept_the_trace_id_is_checked_for_its_form_only():
    result = alert_annotated(
        events(notification(FAULT + 3, "firing", FAULT + 2)), "GlancyErrorRate", FAULT, set()
    )
    assert result.passed and "only its form" in result.explanation


def test_an_alert_without_a_trace_id_or_a_runbook_section_fails_naming_both():
    bare = notification(
        FAULT + 3,
        "firing",
        FAULT + 2,
        annotations={"runbook_url": "docs/dr-plan.zh.md", "trace_id": ""},
    )
    result = alert_annotated(events(bare), "GlancyErrorRate", FAULT, {TRACE})
    assert not result.passed and result.figure == 2
    assert "runbook_url" in result.explanation and "trace_id" in result.explanation


def test_annotations_of_an_alert_that_never_fired_are_not_measured():
    result = alert_annotated([], "GlancyErrorRate", FAULT, set())
    assert not result.passed and not result.measured


def test_every_instance_resolved_while_clients_called_passes():
    fired = [notification(FAULT + 3, "firing", FAULT + 2, endpoint=e) for e in ("/a", "/b")]
    resolved = [
        notification(FAULT + 20 + i, "resolved", FAULT + 2, endpoint=e)
        for i, e in enumerate(("/a", "/b"))
    ]
    result = alert_resolved(
        events(*fired, *resolved),
        "GlancyErrorRate",
        FAULT,
        FAULT + 10,
        60,
        clients_until=FAULT + 40,
    )
    assert result.passed and round(result.figure) == 11  # the last of the two


def test_an_instance_still_firing_fails_naming_it():
    fired = [notification(FAULT + 3, "firing", FAULT + 2, endpoint=e) for e in ("/a", "/b")]
    resolved = notification(FAULT + 20, "resolved", FAULT + 2, endpoint="/a")
    result = alert_resolved(
        events(*fired, resolved), "GlancyErrorRate", FAULT, FAULT + 10, 60, clients_until=FAULT + 40
    )
    assert not result.passed and result.note == "still firing"
    assert "endpoint=/b" in result.explanation


def test_a_resolution_after_the_clients_stopped_does_not_count():
    fired = notification(FAULT + 3, "firing", FAULT + 2)
    resolved = notification(FAULT + 50, "resolved", FAULT + 2)
    result = alert_resolved(
        events(fired, resolved), "GlancyErrorRate", FAULT, FAULT + 10, 60, clients_until=FAULT + 40
    )
    assert not result.passed
    assert "after the clients stopped" in result.explanation


def test_a_resolution_before_the_drills_recovery_passes_saying_so():
    fired = notification(FAULT + 3, "firing", FAULT + 2)
    resolved = notification(FAULT + 8, "resolved", FAULT + 2)
    result = alert_resolved(
        events(fired, resolved), "GlancyErrorRate", FAULT, FAULT + 10, 60, clients_until=FAULT + 40
    )
    assert result.passed and round(result.figure) == -2
    assert "2.00 s before the recovery" in result.explanation


def test_a_resolution_later_than_the_limit_fails():
    fired = notification(FAULT + 3, "firing", FAULT + 2)
    resolved = notification(FAULT + 100, "resolved", FAULT + 2)
    result = alert_resolved(
        events(fired, resolved), "GlancyErrorRate", FAULT, FAULT + 10, 60, clients_until=FAULT + 200
    )
    assert not result.passed and round(result.figure) == 90


def test_nothing_to_resolve_is_not_measured():
    result = alert_resolved([], "GlancyErrorRate", FAULT, FAULT + 10, 60, clients_until=FAULT + 40)
    assert not result.passed and not result.measured


def ratios(*values: float | None, start: float = FAULT) -> list[tuple[float, float]]:
    """One point a second from `start`; None: no point (no request reached the service)."""
    return [(start + i, v) for i, v in enumerate(values) if v is not None]


def prometheus_rto(series: dict, limit_s: float = 1800, probe_rto_s: float | None = None):
    end = FAULT + max(len(points) for points in series.values()) + 5
    return rto_by_prometheus(
        series, FAULT, end, limit_s, scrape_interval_s=1, rate_window_s=4, probe_rto_s=probe_rto_s
    )


def test_rto_by_prometheus_is_the_first_point_after_which_every_endpoint_stays_at_99():
    result = prometheus_rto(
        {"/lookup": ratios(1, 0.5, 0.2, 0.995, 1, 1), "/history": ratios(1, 0.4, 0.9, 0.97, 1, 1)},
        probe_rto_s=2.5,
    )
    assert result.passed and result.figure == 4.0
    assert round(result.details["difference_s"], 2) == 1.5
    assert "4 s windows" in result.explanation


def test_a_point_without_a_ratio_counts_as_not_recovered():
    result = prometheus_rto({"/lookup": ratios(1, 0.5, None, None, 1, 1, 1)})
    assert result.passed and result.figure == 4.0


def test_a_point_no_endpoint_has_counts_as_not_recovered():
    result = prometheus_rto({"/lookup": ratios(1, None, None, None, 1, 1)})
    assert result.passed and result.figure == 4.0
    assert result.details["prometheus_recovered_at"] == FAULT + 4


def test_rto_by_prometheus_beyond_the_limit_fails():
    result = prometheus_rto({"/lookup": ratios(1, 0, 0, 0, 1, 1)}, limit_s=3)
    assert not result.passed and result.figure == 4.0


def test_not_back_by_the_last_point_fails_as_not_recovered():
    result = prometheus_rto({"/lookup": ratios(1, 0, 0.5, 0.98)})
    assert not result.passed and result.note == "not recovered"


def test_clients_stopped_before_prometheus_could_see_the_recovery_is_not_measured():
    series = {"/lookup": ratios(1, 0, 0.5, 0.98)}
    end = FAULT + 7
    result = rto_by_prometheus(
        series, FAULT, end, 1800, scrape_interval_s=1, rate_window_s=4, probe_rto_s=2.5
    )
    assert not result.passed and not result.measured
    assert "stopped 4.5 s after the probes saw the recovery" in result.explanation
    assert "runs for 8 more seconds" in result.explanation


def test_not_back_long_after_the_probes_were_fails_as_not_recovered():
    series = {"/lookup": ratios(1, 0, 0.5, 0.98, 0.9, 0.97, 0.95, 0.9, 0.98)}
    end = FAULT + 9
    result = rto_by_prometheus(
        series, FAULT, end, 1800, scrape_interval_s=1, rate_window_s=4, probe_rto_s=2.5
    )
    assert result.measured and not result.passed and result.note == "not recovered"


def test_an_outage_prometheus_never_saw_is_not_measured():
    result = prometheus_rto({"/lookup": ratios(1, 1, 1, 1)})
    assert not result.passed and not result.measured
    assert "never saw" in result.explanation


def test_no_points_at_all_is_not_measured():
    result = rto_by_prometheus(
        {"/lookup": []}, FAULT, FAULT + 10, 1800, scrape_interval_s=1, rate_window_s=4
    )
    assert not result.passed and not result.measured


def test_each_alert_instance_spans_from_its_start_to_its_resolution():
    spans = firing_spans(
        events(
            notification(FAULT + 3, "firing", FAULT + 2, endpoint="/a"),
            notification(FAULT + 4, "firing", FAULT + 3, endpoint="/b"),
            notification(FAULT + 9, "resolved", FAULT + 2, endpoint="/a"),
        )
    )
    assert sorted(spans) == [
        ("GlancyErrorRate /a", FAULT + 2, FAULT + 9),
        ("GlancyErrorRate /b", FAULT + 3, None),
    ]


def test_the_success_ratio_reads_a_counter_by_its_own_labels():
    balancer = RequestCounter("nginx_ingress_controller_requests", "path", "status")
    query = success_ratio(balancer, "5..|499", ["/lookup", "/history"], 4.0)
    assert query == (
        'sum by (path) (rate(nginx_ingress_controller_requests{path=~"/lookup|/history",'
        'status!~"5..|499"}[4s])) / sum by (path) '
        '(rate(nginx_ingress_controller_requests{path=~"/lookup|/history"}[4s]))'
    )
