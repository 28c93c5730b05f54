"""The plan's monitoring signals (seed section 2) and section 7's RTO, read from the alerting
system: Alertmanager's notifications to the harness's receiver, and Prometheus's range queries.

An alert is only evidence of the fault when it fired after it, and of the recovery when it
cleared while clients were still calling: with no traffic, a rate has no value and an alert on
it goes quiet whatever the service's state. So the resolution is awaited as a When step, before
the first Then stops the clients, and the Then steps read what was delivered.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from pytest_bdd import parsers, then

from drillbook.capabilities import Monitoring
from drillbook.capabilities.monitoring import FRONT_DOOR_REQUESTS, RequestCounter
from drillbook.checks.alerts import (
    RESOLVED,
    AlertEvent,
    alert_annotated,
    alert_events,
    alert_fired,
    alert_resolved,
    client_traces,
    firing_spans,
)
from drillbook.checks.duration import to_seconds
from drillbook.checks.prometheus_rto import rto_by_prometheus, success_ratio
from drillbook.conditions import Poll, condition
from drillbook.drill import Drill, MissingStep
from drillbook.evidence.prometheus_chart import rto_views_png
from drillbook.profile import Profile
from drillbook.waits import WaitTimeout, pause, wait_until
from steps import probe_process, rto_now

# Section 7: RTO is measured on these endpoints' success in Prometheus.
KEY_ENDPOINTS = ("/lookup", "/history", "/exports")
# A rate needs several scrapes in its window to have a value through a missed scrape.
SCRAPES_PER_WINDOW = 4


def delivered(drill: Drill, monitoring: Monitoring) -> list[AlertEvent]:
    """Every alert delivered since the scenario began, attached to its evidence."""
    notifications = monitoring.notifications(drill.started_at)
    drill.evidence.attach_json("alert notifications", notifications)
    return alert_events(notifications)


def _fired(monitoring: Monitoring, drill: Drill, name: str, fault_at: float) -> bool:
    events = alert_events(monitoring.notifications(drill.started_at))
    return alert_fired(events, name, fault_at, float("inf")).passed


@then(parsers.parse('the alert "{name}" fired within {limit:g} {unit} of the fault'))
def alert_fired_within(
    drill: Drill,
    monitoring: Monitoring,
    progress: Callable[[str], None],
    name: str,
    limit: float,
    unit: str,
) -> None:
    limit_s = to_seconds(limit, unit)
    fault_at = drill.require_t0()
    left = fault_at + limit_s - time.time()
    if left > 0:
        # a timeout is not an error here: the check says what was delivered instead
        with contextlib.suppress(WaitTimeout):
            wait_until(
                f"alert {name} ({monitoring.describe()})",
                lambda: (_fired(monitoring, drill, name, fault_at), "not fired yet"),
                left,
                interval_s=monitoring.scrape_interval_s / 2,
                progress=progress,
            )
    drill.verdict(alert_fired(delivered(drill, monitoring), name, fault_at, limit_s))


@then(parsers.parse('the alert "{name}" carries a runbook link and a trace_id'))
def alert_carries_links(drill: Drill, monitoring: Monitoring, name: str) -> None:
    events = delivered(drill, monitoring)
    fault_at = drill.require_t0()
    traces = client_traces(drill.history)
    drill.verdict(alert_annotated(events, name, fault_at, traces))


@condition('the alert "{name}" has fired')
def alert_has_fired(drill: Drill, monitoring: Monitoring, name: str) -> Poll:
    """A notification of the alert, begun after the fault, reached the receiver: a drill that
    ends the fault as soon as its own measure crosses the threshold waits for the alerting
    system to have seen it too."""
    fault_at = drill.require_t0()
    return lambda: (_fired(monitoring, drill, name, fault_at), "not fired yet")


@condition('the alert "{name}" has resolved')
def alert_has_resolved(drill: Drill, monitoring: Monitoring, name: str) -> Poll:
    """Every instance of the alert that fired after the fault notified resolved, while the
    clients still call (a wait comes before the first Then): see the module's docstring."""
    fault_at = drill.require_t0()

    def poll() -> tuple[bool, str]:
        events = alert_events(monitoring.notifications(drill.started_at))
        last = {
            event.fingerprint: event.status
            for event in events
            if event.name == name and event.starts_at >= fault_at
        }
        firing = sum(status != RESOLVED for status in last.values())
        return bool(last) and not firing, f"{len(last)} fired, {firing} still firing"

    return poll


@then(parsers.parse('the alert "{name}" resolved within {limit:g} {unit} of the recovery'))
def alert_resolved_within(
    drill: Drill, monitoring: Monitoring, name: str, limit: float, unit: str
) -> None:
    recovered_at = drill.recovered_at
    if recovered_at is None:
        raise MissingStep(
            "no recovery was observed: this step needs 'within N seconds the probes succeed "
            "again' (or an RTO check) earlier in the scenario"
        )
    _resolved_since(drill, monitoring, name, recovered_at, to_seconds(limit, unit))


@then(parsers.parse('the alert "{name}" resolved within {limit:g} {unit} of the repair'))
def alert_resolved_after_repair(
    drill: Drill, monitoring: Monitoring, name: str, limit: float, unit: str
) -> None:
    """For a fault no client sees (a configuration release that fails its check), the
    recovery is the drill's own repair: its last restore or remediation after the fault."""
    repaired_at = drill.repaired_at()
    if repaired_at is None:
        raise MissingStep(
            "nothing was repaired after the fault: this step needs a restore or a remediation "
            "(e.g. 'the configuration the replicas run is published again') earlier"
        )
    _resolved_since(drill, monitoring, name, repaired_at, to_seconds(limit, unit))


def _resolved_since(
    drill: Drill, monitoring: Monitoring, name: str, since: float, limit_s: float
) -> None:
    result = alert_resolved(
        delivered(drill, monitoring),
        name,
        drill.require_t0(),
        since,
        limit_s,
        clients_until=drill.frozen_at or time.time(),
    )
    drill.verdict(result)


@dataclass(frozen=True)
class RequestCounts:
    """A counter of requests by endpoint and status in Prometheus, the statuses (a regex)
    that are failures there, the RTO read from it, and its chart's file and title."""

    counter: RequestCounter
    failed: str
    check: str
    chart: str
    view: str


SERVICE = RequestCounts(
    RequestCounter("glancy_http_requests_total"),
    "5..",
    "RTO by Prometheus",
    "rto-views",
    "Prometheus",
)
# 499: the client gave up before an answer; a request the front door could not pass on to a
# region is its own 502, which no replica's counter holds. The counter is the monitoring's.
FRONT_DOOR = RequestCounts(
    FRONT_DOOR_REQUESTS,
    "5..|499",
    "RTO by Prometheus at the front door",
    "rto-views-front-door",
    "the front door in Prometheus",
)


def front_door(monitoring: Monitoring, which: str = "", chart: str = "") -> RequestCounts:
    """The front door's counts as `monitoring` names its counter; `which` RTO of several in a
    scenario, each with a `chart` of its own."""
    return replace(
        FRONT_DOOR,
        counter=monitoring.front_door,
        check=f"{FRONT_DOOR.check} {which}".strip(),
        chart=f"{FRONT_DOOR.chart}-{chart}" if chart else FRONT_DOOR.chart,
    )


@then(parsers.parse("the RTO by Prometheus is at most {limit:g} {unit}"))
def rto_by_prometheus_at_most(
    drill: Drill, dr_profile: Profile, monitoring: Monitoring, limit: float, unit: str
) -> None:
    """Section 7's RTO over the key endpoints the drill's probes call, from the service's
    own counts, next to the probes'."""
    prometheus_rto(drill, dr_profile, monitoring, to_seconds(limit, unit), SERVICE)


@then(parsers.parse("the RTO by Prometheus at the front door is at most {limit:g} {unit}"))
def front_door_rto_at_most(
    drill: Drill, dr_profile: Profile, monitoring: Monitoring, limit: float, unit: str
) -> None:
    """Section 7's RTO from the front door's counts: every client request, those that never
    reached a replica (a region cut off) and those their clients gave up on included."""
    prometheus_rto(drill, dr_profile, monitoring, to_seconds(limit, unit), front_door(monitoring))


def prometheus_rto(
    drill: Drill,
    dr_profile: Profile,
    monitoring: Monitoring,
    limit_s: float,
    counts: RequestCounts,
    *,
    since: float | None = None,
    until: float | None = None,
) -> None:
    """The RTO over the key endpoints the drill's probes call, from `counts`, next to the
    probes', with a chart of both views: from T0, or from `since`, to the clients' last call,
    or to `until` (where a later outage of the scenario, a failback's, begins)."""
    probed = {op.process for op in drill.history.ops(prefix="probe:")}
    endpoints = [path for path in KEY_ENDPOINTS if probe_process(path) in probed]
    if not endpoints:
        raise MissingStep(
            f"the {counts.check} is over the key endpoints {', '.join(KEY_ENDPOINTS)}: "
            "this step needs probes of one of them ('Given probes call \"/lookup\" ...')"
        )
    t0 = drill.require_t0() if since is None else since
    end = until or drill.frozen_at or time.time()  # the clients' last call
    scrape = monitoring.scrape_interval_s
    pause(max(0.0, end + 2 * scrape - time.time()))  # the last scrapes before the end are in
    window = SCRAPES_PER_WINDOW * scrape
    metric, by = counts.counter.metric, counts.counter.endpoint_label
    expr = success_ratio(counts.counter, counts.failed, endpoints, window)
    # from a little before T0, so the chart shows what Prometheus saw before the fault
    series = monitoring.query_range(expr, t0 - 3 * window, end, scrape, by=by)
    drill.evidence.attach_json(
        f"Prometheus success ratio by endpoint ({metric})", {"query": expr, **series}
    )
    probes = rto_now(drill, dr_profile, limit_s, since=since, until=until)
    result = rto_by_prometheus(
        {endpoint: series.get(endpoint, []) for endpoint in endpoints},
        t0,
        end,
        limit_s,
        scrape_interval_s=scrape,
        rate_window_s=window,
        probe_rto_s=probes.figure,
        name=counts.check,
        counted=metric,
    )
    recoveries = [
        ("recovered (probes)", probes.details.get("recovered_at")),
        (f"recovered ({counts.view})", result.details.get("prometheus_recovered_at")),
    ]
    drill.out_dir.mkdir(parents=True, exist_ok=True)
    chart = rto_views_png(
        drill.history,
        series,
        drill.out_dir / f"{counts.chart}.png",
        t0=t0,
        probe_window_s=dr_profile.workload["window_s"],
        marks=[(label, at) for label, at in recoveries if at],
        alerts=firing_spans(delivered(drill, monitoring)),
        title=f"{drill.scenario}: success by the probes and by {counts.view}",
    )
    drill.evidence.attach_png(f"recovery as the probes and as {counts.view} saw it", chart)
    drill.verdict(result)
