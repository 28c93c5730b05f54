"""Whether a Redis RDB snapshot loads (plan 4.3, Redis AOF 校验: 可加载): the keys Redis's own
loader read from it, at least one; a snapshot not taken or not loadable fails, saying why."""

from __future__ import annotations

from drillbook.checks.result import CheckResult
from drillbook.redis_snapshot import RdbSnapshot

NAME = "RDB snapshot keys loaded"


def rdb_loads(snapshot: RdbSnapshot) -> CheckResult:
    details = {"node": snapshot.node, "bytes": snapshot.size, "keys": snapshot.keys}
    if snapshot.keys is None:
        explanation = f"the RDB snapshot of {snapshot.node} did not load: {snapshot.problem}"
        return CheckResult(NAME, None, "keys", 1, False, explanation, details, note="not loadable")
    passed = snapshot.keys >= 1
    explanation = (
        f"the RDB snapshot of {snapshot.node} ({snapshot.size} bytes) loads: redis-check-rdb "
        f"read {snapshot.keys} keys and verified its checksum"
        + ("" if passed else ", but it holds no key")
    )
    return CheckResult(NAME, snapshot.keys, "keys", 1, passed, explanation, details)
