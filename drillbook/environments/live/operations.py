"""The operations a live profile binds: the contract between the live capabilities and the
profile's `live.bindings`.

A live capability cannot kill a primary or promote a standby by itself: the team's own runbook
does it, and the profile binds each operation below to an action (drillbook.environments.live.
bindings). The names and their params are fixed here, so a profile is checked against them when
it loads: an unknown name, a placeholder that is no param, or a fault without a revert is
refused before any drill starts.
"""

from __future__ import annotations

from dataclasses import dataclass

from drillbook.capabilities.operation import FAULT, REMEDIATION


@dataclass(frozen=True)
class OperationSpec:
    """What an operation is (`role`), the params its actions are templated with, whether the
    profile must say how it is reverted, and what its run returns."""

    role: str
    params: tuple[str, ...]
    revert_required: bool
    doc: str


def _fault(params: tuple[str, ...], doc: str) -> OperationSpec:
    # A fault is always reverted (drillbook.capabilities.operation): its binding must say how.
    return OperationSpec(FAULT, params, True, doc)


def _remediation(params: tuple[str, ...], doc: str) -> OperationSpec:
    return OperationSpec(REMEDIATION, params, False, doc)


OPERATIONS: dict[str, OperationSpec] = {
    "database.kill_primary": _fault(
        ("zone",), 'the zone\'s PostgreSQL primary killed; output json: {"pid": int}, optional'
    ),
    "database.promote": _remediation(
        ("zone",), "the zone's standby promoted; its output is ignored (read back by SQL)"
    ),
    "database.restore_to": _remediation(
        ("target", "name"),
        "a new instance restored to `target` (ISO 8601 with offset), called `name`; output json: "
        '{"host": str, "port": int}, credentials those of the primary zone\'s DSN',
    ),
    "service.point_database": _remediation(
        ("name",), "the service pointed at a zone or a restored instance; output json: dict"
    ),
    "service.take_over": _remediation(
        ("region",),
        "the region's warm-standby playbook (runbook 5.2 step 1: standby database promoted, "
        "Redis rebuilt, service configuration refreshed), or the primary region's failback once "
        'it is a warm standby; output json: {"database": the instance taking the writes, '
        '"diff": optional, table -> instance -> {"rows", "md5"}, "objects": optional, bucket -> '
        '{"versions": region -> count, "differing": count, "first": {version: region -> ETag}}, '
        '"keys": optional, what the regions\' caches hold}. Its revert gets the same '
        "region: the standby region a warm standby again, nothing for the primary region",
    ),
    "service.stand_by": _remediation(
        ("region",),
        "the region made a warm standby of the region taking the writes (re-seeded from it, "
        "streaming); output json: dict. Its revert gets the same region: the primary region "
        "writable again, nothing for the standby region",
    ),
    "service.force_l2": _remediation(
        (),
        "runbook 5.1 step 3's 强制 L2: every replica reads Redis alone, its own L1 cache emptied "
        "and bypassed, kept across restarts; output json: dict (the cache mode). Its revert "
        "lets the L1 serve again",
    ),
    "service.publish_config": _fault(
        ("changes", "trace_id"),
        "a configuration release through the config center: what the service runs with "
        "`changes` (JSON: dotted key -> value), under the W3C `trace_id` its check logs; its "
        "output is ignored. Its revert publishes what the service runs again",
    ),
    "service.rotate_key": _remediation(
        ("key", "days", "trace_id"),
        "plan section 2's 密钥轮转: a new secret at the dotted `key`, valid `days` days, "
        "released under `trace_id`; its output is ignored (never the secret)",
    ),
    "service.point_cache": _remediation(
        ("node",), "the service pointed at the Redis node primary or replica; output json: dict"
    ),
    "service.roll_out": _fault(
        ("version", "previous"),
        "`version` rolled out over `previous`; output json: [{deployment, version, took_s}]",
    ),
    "cache.kill_primary": _fault(
        (), 'the Redis primary killed; output json: {"pid": int}, optional'
    ),
    "cache.wipe_primary": _fault((), "the Redis primary's keys wiped; its output is ignored"),
    "cache.restart_primary": _remediation(
        (), 'the Redis primary restarted from its AOF; output json: {"loaded_s": float}'
    ),
    "cache.promote_replica": _remediation((), "the Redis replica promoted; its output is ignored"),
    "exports.kill_worker_mid_task": _fault(
        ("timeout_s",),
        "an export worker killed while it holds a task (waiting at most timeout_s for one); "
        'output json: {"pid", "task", "stream_entry", "attempt_started_at"}',
    ),
}

# Runbook 5.2 step 2 across regions: moto's model only (see drillbook.environments.aws_cloud).
REGION_FAILOVER = "cloud.fail_over_region"
# Operations a live environment carries out through its endpoints, with no binding: name -> how.
BUILT_IN: dict[str, str] = {
    "network.cut": "the link's Toxiproxy proxy disabled; reverted by resetting the proxy",
    "network.latency": "a latency toxic on the link's Toxiproxy proxy; reverted by a reset",
    "network.silence": "a timeout toxic on the link's Toxiproxy proxy; reverted by a reset",
    "network.restore": "the link's Toxiproxy proxy reset (enabled, toxics removed)",
    "database.delete_rows": "SQL DELETE on the current primary; reverted by putting the rows back",
    "storage.delete_by_mistake": "an object deleted through the S3 API of its region",
    "cache.exhaust_memory": "the Redis primary's maxmemory cut to 1 byte (volatile-lru) by "
    "CONFIG SET through its URL; reverted by setting back the limit and policy it had",
    "storage.copy": "an object read through the S3 API of one region and written in another",
    "service.spend_tokens": "tokens spent through the service's admin API, then refunded",
    "service.replay_deletions": "the service's admin API replays the deletion queue",
    "service.recompute_quota": "the service's admin API recomputes the quota counters",
    "service.reconcile_orders": "the service's admin API reconciles the orders with the "
    "payment provider's records",
    "exports.replay": "the service's admin API replays the failed export tasks",
    "platform.cordon_zone": "the zone's nodes cordoned through the Kubernetes API; "
    "reverted by uncordoning them",
    "platform.scale_zone": "the zone's Deployments scaled through the Kubernetes API; "
    "reverted by scaling them back",
    "platform.restart": "a rollout restart of the Deployment through the Kubernetes API",
    "cloud.fail_over": "failover-db-cluster to a reader through the AWS API; reverted by "
    "failing back",
    "cloud.move_weight": "change-resource-record-sets moving the record's weight through the "
    "AWS API; reverted by putting the weights back",
    REGION_FAILOVER: "promote-read-replica-db-cluster of the cluster's replica in the region "
    "through an emulated AWS API (refused on a real account); not reverted (a promoted replica "
    "is rebuilt by the region's return to a warm standby)",
}
# Those of them that break something: what `allow_faults` may name besides the bound faults.
BUILT_IN_FAULTS: tuple[str, ...] = (
    "network.cut",
    "network.latency",
    "network.silence",
    "database.delete_rows",
    "storage.delete_by_mistake",
    "cache.exhaust_memory",
    "service.spend_tokens",
    "platform.cordon_zone",
    "platform.scale_zone",
    "cloud.fail_over",
)


def fault_names() -> tuple[str, ...]:
    """Every fault a profile's `allow_faults` may name: the bindable ones, then the built-in."""
    bindable = tuple(name for name, spec in OPERATIONS.items() if spec.role == FAULT)
    return bindable + BUILT_IN_FAULTS
