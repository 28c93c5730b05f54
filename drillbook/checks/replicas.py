"""Runbook 5.2's pre-check `kubectl --context=<region> get deploy lookup-bff`: the standby
region runs enough Ready replicas of the service to take the traffic."""

from __future__ import annotations

from drillbook.checks.result import CheckResult
from drillbook.platform.kubernetes import not_ready, pod_name


def ready_replicas(app: str, where: str, pods: list[dict], minimum: int) -> CheckResult:
    """At least `minimum` of the app's Pods Ready and not terminating (a Pod on its way out
    takes no new traffic). `pods` as the API lists them; a pure function of them."""
    ready = [pod_name(pod) for pod in pods if not_ready(pod) is None]
    waiting = [f"{pod_name(pod)} ({why})" for pod in pods if (why := not_ready(pod))]
    listed = ", ".join(ready) or "none"
    explanation = f"{len(ready)} Ready replicas of {app} in {where} ({listed})"
    if waiting:
        explanation += f"; not serving: {', '.join(waiting)}"
    if len(ready) < minimum:
        explanation = f"only {explanation}, fewer than {minimum}"
    return CheckResult(
        name=f"Ready replicas of {app} in {where}",
        figure=len(ready),
        unit="replicas",
        threshold=minimum,
        passed=len(ready) >= minimum,
        explanation=explanation,
        details={"ready": ready, "not serving": waiting},
    )
