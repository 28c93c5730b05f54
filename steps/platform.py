"""Runbook 5.1 on Kubernetes: a zone's nodes cordoned and its Deployments scaled to 0 (faults,
reverted by uncordoning and scaling back), a Deployment restarted (a remediation), and the
condition that every Pod outside the zone is Ready; runbook 5.2's pre-check of the replicas
Ready in the standby region."""

from __future__ import annotations

from pytest_bdd import given, parsers, then, when

from drillbook.bdd import performs, reverts
from drillbook.capabilities import Platform
from drillbook.checks.replicas import ready_replicas
from drillbook.conditions import Poll, condition
from drillbook.drill import Drill


@when(parsers.parse("the nodes of {zone} are cordoned"))
@performs("platform.cordon_zone", zone="{zone}")
def cordon(drill: Drill, platform: Platform, zone: str) -> None:
    nodes = drill.apply(platform.cordon_zone(zone))
    drill.evidence.attach_json(f"cordoned: nodes of {zone}", nodes)


@when(parsers.parse("the nodes of {zone} are uncordoned"))
@reverts("platform.cordon_zone", zone="{zone}")
def uncordon(drill: Drill, zone: str) -> None:
    drill.restore(f"nodes of {zone}")


@when(parsers.parse('the Deployments of {zone} in "{namespace}" are scaled to {replicas:d}'))
@performs("platform.scale_zone", zone="{zone}", namespace="{namespace}", replicas="{replicas}")
def scale(drill: Drill, platform: Platform, zone: str, namespace: str, replicas: int) -> None:
    before = drill.apply(platform.scale_zone(namespace, zone, replicas))
    drill.evidence.attach_json(f"scaled to {replicas}: Deployments of {zone}", before)


@when(parsers.parse('the Deployments of {zone} in "{namespace}" are scaled back'))
@reverts("platform.scale_zone", zone="{zone}", namespace="{namespace}")
def scale_back(drill: Drill, zone: str, namespace: str) -> None:
    drill.restore(f"deployments of {zone} in {namespace}")


@when(parsers.parse('"{app}" in "{namespace}" is restarted'))
@performs("platform.restart", app="{app}", namespace="{namespace}")
def restart(drill: Drill, platform: Platform, app: str, namespace: str) -> None:
    """`kubectl rollout restart`, waiting for every rollout to complete."""
    rollouts = drill.apply(platform.restart(namespace, app))
    drill.evidence.attach_json(f"rollout restart: {app} in {namespace}", rollouts)


@condition("every pod outside {zone} is Ready")
def pods_ready_outside(drill: Drill, platform: Platform, zone: str) -> Poll:
    """Done when some Pod runs outside the zone and all of them are Ready: no Pod outside
    it is a zone with nothing serving, never a success."""

    def poll() -> tuple[bool, str]:
        waiting, outside = platform.pods_not_ready_outside(zone)
        if outside == 0:
            return False, f"no pod runs outside {zone}"
        if waiting:
            return False, f"{len(waiting)} of {outside} pods outside {zone} not Ready: {waiting}"
        return True, f"all {outside} pods outside {zone} Ready"

    return poll


REPLICAS = '"{app}" has at least {minimum:d} Ready replicas in {region}'


@given(parsers.parse(REPLICAS))
@then(parsers.parse(REPLICAS))
def ready_replicas_in(
    drill: Drill, platform: Platform, app: str, minimum: int, region: str
) -> None:
    """Runbook 5.2's pre-check `kubectl --context=<region> get deploy <app>`: the Pods labelled
    app=<app> in the region's cluster, at least `minimum` of them Ready."""
    drill.verdict(ready_replicas(app, region, platform.app_pods(app, region), minimum))
