"""Runbook 5.2 across regions: a region cut off from its clients and from the other region (a
fault per link, each reverted on teardown), and the warm standby taking over (the playbook of
step 1, a remediation reverted by making the region a warm standby again)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import ClassVar

from pytest_bdd import given, parsers, then, when

from drillbook.bdd import performs, reverts
from drillbook.capabilities import Database, Monitoring, Network, Service
from drillbook.capabilities.operation import REMEDIATION
from drillbook.capabilities.service import TAKE_OVER
from drillbook.checks.degradation import answered_in_full_by, full_answers_from
from drillbook.checks.duration import to_seconds
from drillbook.checks.region_diff import objects_differ, tables_differ
from drillbook.checks.spot import row_problem
from drillbook.conditions import Poll, condition
from drillbook.drill import Drill, MissingStep
from drillbook.profile import Profile
from drillbook.spot_check import SampleCheck
from drillbook.workload.writer import payload_of, payloads
from steps import DatabaseInUse, rto_now, spot_check_sample
from steps.alerts import front_door, prometheus_rto
from steps.llm import LOOKUPS
from steps.network import inject

ROWS_SAMPLE = SampleCheck(
    check="rows not found as written",
    unit="rows",
    item="跨 Region 写入抽查",
    drawn="接管后确认的写入",
    right="在当前主库中且内容一致",
)

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


CUT_OFF = "the region {region} is cut off"


@given(parsers.parse(CUT_OFF))  # runbook 5.2's trigger
@when(parsers.parse(CUT_OFF))
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


@dataclass(frozen=True)
class TakenOver:
    """A region's (last) takeover and what it reported."""

    PROVIDED_BY: ClassVar[str] = "When the warm standby in {key} takes over"
    done: dict


@when(parsers.parse("the warm standby in {region} takes over"))
@performs("service.take_over", region="{region}")
def take_over(drill: Drill, service: Service, region: str) -> None:
    """The database the takeover names is the one in use from now on: the drill's writer
    follows it. The same step fails back to the primary region once it is a warm standby."""
    done = drill.apply(service.take_over(region))
    drill.remember(DatabaseInUse(done.get("database", region)))
    drill.remember(TakenOver(done), key=region)
    drill.evidence.attach_json(f"warm-standby cutover: {region}", done)


@when(parsers.parse("the region {region} is rebuilt as a warm standby"))
@performs("service.stand_by", region="{region}")
def stand_by(drill: Drill, service: Service, region: str) -> None:
    """Re-seeded from the region taking the writes, streaming from it: the failback's first
    step for the primary region, and the standby region's return to its normal state."""
    done = drill.apply(service.stand_by(region))
    drill.evidence.attach_json(f"rebuilt as a warm standby: {region}", done)


@then(parsers.parse("the RTO from the takeover by {region} is at most {limit:g} {unit}"))
def rto_from_takeover(
    drill: Drill, dr_profile: Profile, region: str, limit: float, unit: str
) -> None:
    """A failback's own RTO: from the start of the region's (last) takeover, when the other
    region was fenced, to the first window at 99% success through the front door."""
    started = takeover_starts(drill, region)[-1]
    result = rto_now(drill, dr_profile, to_seconds(limit, unit), since=started)
    drill.verdict(replace(result, name=f"RTO from the takeover by {region}"))


@then(
    parsers.parse(
        "the RTO by Prometheus at the front door from the takeover by {region} "
        "is at most {limit:g} {unit}"
    )
)
def front_door_rto_from_takeover(
    drill: Drill, dr_profile: Profile, monitoring: Monitoring, region: str, limit: float, unit: str
) -> None:
    """Section 7's RTO of a failback, as the front door's counts in Prometheus show it."""
    counts = front_door(monitoring, f"from the takeover by {region}", f"takeover-{region}")
    since = takeover_starts(drill, region)[-1]
    prometheus_rto(drill, dr_profile, monitoring, to_seconds(limit, unit), counts, since=since)


@then(parsers.parse("the RTO of the cutover to {region} is at most {limit:g} {unit}"))
def rto_of_cutover(drill: Drill, dr_profile: Profile, region: str, limit: float, unit: str) -> None:
    """A cutover's RTO in a scenario that fails back too: from T0 to the first window at 99%
    success, over the probes invoked before the next takeover (the failback's fence), whose
    own outage is the failback's RTO."""
    until = cutover_ends(drill, region)
    result = rto_now(drill, dr_profile, to_seconds(limit, unit), until=until)
    drill.verdict(replace(result, name=f"RTO of the cutover to {region}"))


@then(
    parsers.parse(
        "the RTO by Prometheus at the front door of the cutover to {region} "
        "is at most {limit:g} {unit}"
    )
)
def front_door_rto_of_cutover(
    drill: Drill, dr_profile: Profile, monitoring: Monitoring, region: str, limit: float, unit: str
) -> None:
    """Section 7's RTO of a cutover that a failback follows, as the front door's counts show
    it up to the failback's fence."""
    counts = front_door(monitoring, f"of the cutover to {region}", f"cutover-{region}")
    until = cutover_ends(drill, region)
    prometheus_rto(drill, dr_profile, monitoring, to_seconds(limit, unit), counts, until=until)


def cutover_ends(drill: Drill, region: str) -> float | None:
    """Where the cutover to `region` ends for its RTO: the next takeover (a failback's
    fence), if one followed."""
    taken = takeover_starts(drill, region)[0]
    later = [start for start in takeover_starts(drill) if start > taken]
    return later[0] if later else None


def takeover_starts(drill: Drill, region: str | None = None) -> list[float]:
    """When the region's takeovers began (any region's, without one), in order; a missing
    takeover of the region names the step it needs."""
    target = None if region is None else f"region {region}"
    started = [op.start for op in drill.operations(REMEDIATION, target=target)
               if op.value.get("kind") == TAKE_OVER]  # fmt: skip
    if not started and region is not None:
        raise MissingStep(
            f"no takeover by {region} to measure from: the step needs "
            f"{TakenOver.PROVIDED_BY.format(key=region)!r} earlier in the scenario"
        )
    return started


@then(parsers.parse("no table differed between the regions when {region} took over"))
def no_table_differed(drill: Drill, region: str) -> None:
    """Runbook 5.2's diff of a failback, as the takeover recorded it."""
    taken = drill.recall(TakenOver, key=region)
    drill.verdict(tables_differ(taken.done.get("diff") or {}))


@then(parsers.parse("no object differed between the regions when {region} took over"))
def no_object_differed(drill: Drill, region: str) -> None:
    """Runbook 5.2's diff of a failback for object storage (版本化 + CRR 回切), as the
    takeover recorded it."""
    taken = drill.recall(TakenOver, key=region)
    drill.verdict(objects_differ(taken.done.get("objects")))


@then(parsers.parse("the LLM adapter answers in full from {region}"))
def llm_answers_from(drill: Drill, region: str) -> None:
    """Runbook 5.2 step 4 (`kubectl --context=<region> logs deploy/llm-adapter`), as clients
    see it: the lookups the region answered after T0 carried the LLM's example."""
    drill.verdict(full_answers_from(drill.history, LOOKUPS, region, drill.require_t0()))


@condition("lookups are answered in full from {region}")
def answered_in_full_from(drill: Drill, region: str) -> Poll:
    """Runbook 5.2 step 4 while the drill acts: the last probed lookup was answered by the
    region (the service's `X-Region` header) with the LLM's example."""

    def poll() -> tuple[bool, str]:
        lookups = drill.history.ops(process=LOOKUPS)
        if not lookups:
            return False, "no lookup probed yet"
        last = lookups[-1]
        return answered_in_full_by(
            last, region
        ), f"last lookup {last.outcome}: {last.value or last.error}"

    return poll


@then(
    parsers.parse(
        "a spot check of {n:d} rows acknowledged since the takeover by {region} finds each in "
        "the database in use as written"
    )
)
def rows_spot_check(
    drill: Drill,
    database: Database,
    draw_seed: int,
    progress: Callable[[str], None],
    n: int,
    region: str,
) -> None:
    """Seed 4.3 for a switch between regions: writes the region acknowledged once it had taken
    over (until the next takeover, if any), which no later step may lose (unlike the
    asynchronous tail before the takeover, which the RPO bounds), each read back by id from the
    database the clients use now, with the payload the writer committed."""
    since = takeover_starts(drill, region)[-1]
    until = min((start for start in takeover_starts(drill) if start > since), default=None)
    acked = [
        op.value
        for op in drill.history.ops("writer")
        if op.outcome == "ok" and op.start >= since and (until is None or op.end <= until)
    ]
    population = {f"row {i}": i for i in acked}
    instance = database.instance(drill.recall(DatabaseInUse).name)
    found = drill.observed(
        f"payloads in drill_writes of {instance.name}",
        lambda: payloads(instance.app_dsn, list(population.values())),
    )

    def verify(write_id: int) -> str | None:
        return row_problem(write_id, found, payload_of(write_id), instance.name)

    spot_check_sample(drill, progress, draw_seed, n, ROWS_SAMPLE, population, verify)
