"""Runbook 5.2 across regions: a region cut off from its clients and from the other region (a
fault per link, each reverted on teardown), and the warm standby taking over (the playbook of
step 1, a remediation reverted by making the region a warm standby again)."""

from __future__ import annotations

from pytest_bdd import parsers, when

from drillbook.bdd import performs, reverts
from drillbook.capabilities import Network, Service
from drillbook.drill import Drill
from steps import DatabaseInUse
from steps.network import inject


@when(parsers.parse("the region {region} is cut off"))
@performs("network.cut", region="{region}")
def region_cut_off(drill: Drill, network: Network, region: str) -> None:
    """Every link of the region cut, in the order the environment lists them; the first cut
    is T0 when nothing was injected before."""
    for link in network.region_links(region):
        inject(drill, network, link, network.cut(link))


@when(parsers.parse("the links of {region} are restored"))
@reverts("network.restore", region="{region}")
def region_restored(drill: Drill, network: Network, region: str) -> None:
    for link in network.region_links(region):
        drill.restore(network.target(link))


@when(parsers.parse("the warm standby in {region} takes over"))
@performs("service.take_over", region="{region}")
def take_over(drill: Drill, service: Service, region: str) -> None:
    """The region's database is the one in use from now on: the drill's writer follows it."""
    done = drill.apply(service.take_over(region))
    drill.remember(DatabaseInUse(region))
    drill.evidence.attach_json(f"warm-standby cutover: {region}", done)
