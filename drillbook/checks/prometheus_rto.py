"""RTO as section 7 of the plan defines it: from `incident_start` until the key endpoints are
back at 99% success in Prometheus. A pure function of the success ratios Prometheus computed
per endpoint, each a rate over a window of scrapes, evaluated once per scrape interval.

Prometheus sees less than the probes do. A point's ratio covers the requests of the window
before it, so it reads recovered up to one window after the service did; the scrape interval
bounds its resolution; and a request that never reached the service (no Pod behind the router)
is in no counter at all: a point of the range query's grid without a ratio for an endpoint
counts as not recovered, even when no endpoint has one there.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from drillbook.capabilities.monitoring import RequestCounter
from drillbook.checks.result import CheckResult, clock, not_measured, number, percent
from drillbook.checks.rto import TARGET_RATIO

# endpoint -> [(epoch s, success ratio)], as a Prometheus range query answers
Series = dict[str, list[tuple[float, float]]]


def success_ratio(
    counter: RequestCounter, failed: str, endpoints: Sequence[str], window_s: float
) -> str:
    """The PromQL of each endpoint's success ratio over `window_s`, from `counter`: its
    requests whose status does not match `failed` (a regex) over all of them."""
    by, status = counter.endpoint_label, counter.status_label
    chosen = f'{by}=~"{"|".join(endpoints)}"'
    return (
        f'sum by ({by}) (rate({counter.metric}{{{chosen},{status}!~"{failed}"}}[{window_s:g}s]))'
        f" / sum by ({by}) (rate({counter.metric}{{{chosen}}}[{window_s:g}s]))"
    )


def rto_by_prometheus(
    series: Series,
    incident_start: float,
    end: float,
    limit_s: float,
    *,
    scrape_interval_s: float,
    rate_window_s: float,
    probe_rto_s: float | None = None,
    target_ratio: float = TARGET_RATIO,
    name: str = "RTO by Prometheus",
    counted: str = "glancy_http_requests_total",
) -> CheckResult:
    """Seconds from `incident_start` to the first point from which every endpoint's ratio is
    at least `target_ratio` at every point up to `end`, after a point below it. The ratios are
    of the counter `counted` (the service's, the front door's), which `name` says."""
    resolution = (
        f"{counted} scraped every {number(scrape_interval_s)} s, success over "
        f"{number(rate_window_s)} s windows"
    )
    details: dict = {
        "incident_start": incident_start,
        "end": end,
        "endpoints": sorted(series),
        "scrape_interval_s": scrape_interval_s,
        "rate_window_s": rate_window_s,
        "probe_rto_s": probe_rto_s,
    }
    times = grid(series, incident_start, end, scrape_interval_s)
    if not times:
        why = f"Prometheus had no success ratio after the incident start ({resolution})"
        return not_measured(name, "s", limit_s, why, details)
    ratios = {endpoint: {round(t, 3): r for t, r in points} for endpoint, points in series.items()}
    healthy = [
        all(ratios[endpoint].get(round(t, 3), 0.0) >= target_ratio for endpoint in ratios)
        for t in times
    ]
    if all(healthy):
        why = (
            f"Prometheus never saw the endpoints below {percent(target_ratio)} success after the "
            f"incident start: the outage fell between its points ({resolution})"
        )
        return not_measured(name, "s", limit_s, why, details)
    if not healthy[-1]:
        details["points"] = len(times)
        if probe_rto_s is not None:
            observed_s = end - (incident_start + probe_rto_s)
            needed_s = rate_window_s + 2 * scrape_interval_s
            if observed_s < needed_s:
                why = (
                    f"the clients stopped {observed_s:.1f} s after the probes saw the recovery, "
                    f"before a full {number(rate_window_s)} s window of their calls and the "
                    f"scrapes of it could reach Prometheus ({number(needed_s)} s): let the "
                    "workload run on after the recovery ('And the workload runs for "
                    f"{math.ceil(needed_s) + 2} more seconds')"
                )
                return not_measured(name, "s", limit_s, why, details)
        return CheckResult(
            name,
            None,
            "s",
            limit_s,
            False,
            f"the endpoints were not back at {percent(target_ratio)} success by the last point "
            f"at {clock(times[-1])} ({resolution})",
            details,
            note="not recovered",
        )
    last_unhealthy = max(i for i, ok in enumerate(healthy) if not ok)
    recovered_at = times[last_unhealthy + 1]
    figure = recovered_at - incident_start
    # not "recovered_at": the drill's recovery is the clients', which this check only reports on
    details.update(prometheus_recovered_at=recovered_at, points=len(times))
    passed = figure <= limit_s
    explanation = (
        f"{', '.join(sorted(series))} back at ≥{percent(target_ratio)} success in Prometheus "
        f"at {clock(recovered_at)}, {figure:.2f} s after the incident start "
        f"({'≤' if passed else '>'} {number(limit_s)} s); {resolution}"
    )
    if probe_rto_s is not None:
        details["difference_s"] = figure - probe_rto_s
        explanation += (
            f"; the probes' RTO is {probe_rto_s:.2f} s, {figure - probe_rto_s:+.2f} s from it: "
            f"a point reads recovered once its {number(rate_window_s)} s window holds no more "
            "than 1% failures, where the probes resolve their own interval"
        )
    return CheckResult(name, figure, "s", limit_s, passed, explanation, details)


def grid(series: Series, start: float, end: float, step_s: float) -> list[float]:
    """The range query's evaluation times from `start` to the last point answered (at most
    `end`), on the grid of the points answered: a time no endpoint has a point for is still one
    (nothing was counted), while points after the last answered may only not be in yet."""
    answered = [t for points in series.values() for t, _ in points if t <= end]
    if not answered or max(answered) < start:
        return []
    anchor, last = min(answered), max(answered)
    first = anchor + max(0, math.ceil((start - anchor) / step_s - 1e-6)) * step_s
    return [first + k * step_s for k in range(int(round((last - first) / step_s)) + 1)]
