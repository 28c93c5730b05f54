"""The primary region's side of a failback on the embedded stack (runbook 5.2, 回切).

After a cutover the standby region takes the writes. Failing back follows the same steps the
other way: the primary region's pair is rebuilt as a warm standby of the standby region's
database (across the link back, `pg-cascade-<primary region>`), then takes over from it:
the standby region fenced (its database read-only, its clients' sessions ended), its last WAL
replayed in az-a, the regions' tables compared, az-a promoted and the service pointed at it.
Nothing acknowledged in either region is lost. The diff of 5.2 (记录 diff) covers the tables,
the exports bucket's versions (what the standby region wrote comes back by CRR, the plan's
版本化 + CRR 回切) and the Redis keys, which the plan lets a cutover lose (可丢失): those are
recorded, not required equal. The standby region is then a warm standby again
(StandbyRegion.stand_by).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable

from psycopg import sql
from redis.exceptions import RedisError

from drillbook.environments.local.heal import heal_database
from drillbook.objects import all_versions, two_regions, versions_diff
from drillbook.stack import LocalStack
from drillbook.stack.objectstore import EXPORTS_BUCKET
from drillbook.stack.postgres import APP_DB, APP_USER, PgNode
from drillbook.stack.redis import RedisNode
from drillbook.stack.standby_region import StandbyRegion
from drillbook.waits import WaitTimeout, wait_until

# the service's tables, its exports schema's included (the plan's `pg_dump --schema=exports`)
TABLES = (
    "SELECT schemaname, tablename FROM pg_tables "
    "WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2"
)
# Every row as text, in order, hashed: two instances hold the same table iff these agree.
TABLE_DIGEST = (
    "SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM {} t"
)
# The plan's CRR limit (对象存储: CRR 延迟 ≤60 s): how long the failback waits for both
# regions' versions to agree (what each wrote having reached the other) before it records
# the diff as it stands.
CRR_LIMIT_S = 60.0
FENCE: list[tuple[str, list[str]]] = [
    ("ALTER SYSTEM SET default_transaction_read_only = on", []),
    ("SELECT pg_reload_conf()", []),
    # a session that began before the reload could still hold a write transaction open
    (
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE usename = %s",
        [APP_USER],
    ),
]


def stand_by_again(stack: LocalStack, timeout_s: float) -> dict:
    """The standby region a warm standby again (StandbyRegion.stand_by), and RDS's record with
    it: the read replica cluster a cutover's failover record promoted replicates again."""
    done = standby_region(stack).stand_by(timeout_s)
    return {**done, "rds": stack.rejoin_replica_cluster()}


def rebuild_home(stack: LocalStack) -> dict:
    """The primary region's pair a warm standby of the standby region's database, which took
    over: az-a streaming from it across the link back, az-b from az-a."""
    region = standby_region(stack)
    stack.pg.rebuild_from(region.database, region.return_port)
    return {"region": region.home_region, "source": region.database.name}


def reclaim_home(stack: LocalStack) -> None:
    """The primary region writable again with what it holds (a rebuild's revert): az-a
    promoted if it is a standby, the pair and the service as at the start."""
    az_a = stack.pg.node("az-a")
    if az_a.running and az_a.is_in_recovery():
        az_a.promote()
    heal_database(stack)


def fail_back(stack: LocalStack, timeout_s: float) -> dict:
    """The rebuilt primary region takes over from the standby region, losing nothing."""
    region = standby_region(stack)
    source, az_a = region.database, stack.pg.node("az-a")
    if not az_a.is_in_recovery():
        raise RuntimeError(
            f"az-a accepts writes: rebuild {region.home_region} as a warm standby of "
            f"{region.region} before it takes over"
        )
    for statement, params in FENCE:
        source.query(statement, params)
    [(lsn,)] = source.query("SELECT pg_current_wal_lsn()::text")
    az_a.wait_until(replayed(az_a, lsn), timeout_s)
    diff = table_diff(source, az_a)
    objects = {EXPORTS_BUCKET: replicated_versions(stack, EXPORTS_BUCKET, CRR_LIMIT_S)}
    az_a.promote()
    stack.pg.restore_topology()
    stack.service.switch_database(az_a.app_dsn)
    stack.pg.renew_base_backup()  # PITR after the failback starts from az-a's new timeline
    # only recorded (the plan lets a cutover lose the cache), so taken once the writes moved
    keys = keys_diff({region.home_region: stack.redis.primary, region.region: region.redis})
    return {
        "region": region.home_region,
        "database": az_a.name,
        "fenced": source.name,
        "fenced_at_lsn": lsn,
        "diff": diff,
        "objects": objects,
        "keys": keys,
    }


def replayed(node: PgNode, lsn: str) -> Callable[[], None]:
    def check() -> None:
        [(done, at)] = node.query(
            "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn, pg_last_wal_replay_lsn()::text", [lsn]
        )
        if not done:
            raise RuntimeError(f"{node.name} replayed up to {at}, short of {lsn}")

    return check


def table_diff(*nodes: PgNode) -> dict[str, dict[str, dict]]:
    """Table -> node -> {"rows", "md5"} of the service's tables on each node (a table outside
    the public schema named with its schema)."""
    tables = nodes[0].query(TABLES, dbname=APP_DB)
    return {
        (table if schema == "public" else f"{schema}.{table}"): {
            node.name: dict(
                zip(
                    ("rows", "md5"),
                    node.query(digest(schema, table), dbname=APP_DB)[0],
                    strict=True,
                )
            )
            for node in nodes
        }
        for schema, table in tables
    }


def replicated_versions(stack: LocalStack, bucket: str, timeout_s: float) -> dict:
    """`bucket`'s versions compared between the regions once replication both ways has
    brought them together, or as last listed after `timeout_s` (objects.versions_diff, with
    `converged` and `waited_s`); `error` instead when neither store could be listed."""
    stores = stack.storage.stores
    started = time.monotonic()
    listed: list[dict] = []

    def compared() -> tuple[bool, dict]:
        listed.append(versions_diff({s.region: all_versions(s.client(), bucket) for s in stores}))
        return listed[-1]["differing"] == 0, listed[-1]

    what = f"every version of {bucket} in both regions"
    try:
        wait_until(what, compared, timeout_s, interval_s=0.5)
    except WaitTimeout as exc:
        if not listed:
            return {"error": str(exc), "converged": False}
    waited = round(time.monotonic() - started, 2)
    return {**listed[-1], "converged": listed[-1]["differing"] == 0, "waited_s": waited}


def keys_diff(nodes: dict[str, RedisNode]) -> dict:
    """Each region's Redis keys by family (the first two parts of the name, as in
    `glancy:result`), how many keys each region holds that the other does not, and how many
    of those both hold are serialized otherwise (their DUMP differs: another value, or the
    same one encoded otherwise); `error` instead when a Redis did not answer."""
    dumps = {}
    try:
        for region, node in nodes.items():
            with node.client() as client:
                dumps[region] = {
                    key.decode(): client.dump(key) for key in client.scan_iter(count=1000)
                }
    except RedisError as exc:
        return {"error": f"redis {region}: {type(exc).__name__}: {exc}"}
    (first, at_first), (second, at_second) = two_regions(dumps)
    return {
        "families": {
            region: dict(sorted(Counter(":".join(key.split(":")[:2]) for key in held).items()))
            for region, held in dumps.items()
        },
        "only_in": {
            first: len(at_first.keys() - at_second.keys()),
            second: len(at_second.keys() - at_first.keys()),
        },
        "serialized_differ": sum(
            at_first[key] != at_second[key] for key in at_first.keys() & at_second.keys()
        ),
    }


def digest(schema: str, table: str) -> sql.Composed:
    return sql.SQL(TABLE_DIGEST).format(sql.Identifier(schema, table))


def standby_region(stack: LocalStack) -> StandbyRegion:
    if stack.standby is None:
        raise ValueError("the stack runs no standby region (local.standby_region)")
    return stack.standby
