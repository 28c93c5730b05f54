"""Runbook 5.2 across regions: a region cut off from its clients and from the other region (a
fault per link, each reverted on teardown), and the warm standby taking over (the playbook of
step 1, a remediation reverted by making the region a warm standby again)."""

from __future__ import annotations

from pytest_bdd import parsers, then, when

from drillbook.bdd import performs, reverts
from drillbook.capabilities import Database, Network, Service
from drillbook.checks.degradation import full_answers_from
from drillbook.conditions import Poll, condition
from drillbook.drill import Drill
from steps import DatabaseInUse
from steps.llm import LOOKUPS
from steps.network import inject

# On the standby itself: a cascade's upstream is another standby, whose pg_stat_replication
# the primary does not show.
WAL_RECEIVER = "SELECT pg_is_in_recovery(), (SELECT status FROM pg_stat_wal_receiver)"


@condition("the database in {name} is a streaming standby")
def streaming_standby(drill: Drill, database: Database, name: str) -> Poll:
    """A warm standby that is current: in recovery, its WAL receiver streaming."""
    instance = database.instance(name)

    def poll() -> tuple[bool, str]:
        [(in_recovery, receiver)] = instance.query(WAL_RECEIVER)
        if not in_recovery:
            return False, f"{name} accepts writes: it is no standby"
        return receiver == "streaming", f"{name}'s WAL receiver: {receiver or 'not running'}"

    return poll


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


@then(parsers.parse("the LLM adapter answers in full from {region}"))
def llm_answers_from(drill: Drill, region: str) -> None:
    """Runbook 5.2 step 4 (`kubectl --context=<region> logs deploy/llm-adapter`), as clients
    see it: the lookups the region answered after T0 carried the LLM's example."""
    drill.verdict(full_answers_from(drill.history, LOOKUPS, region, drill.require_t0()))
