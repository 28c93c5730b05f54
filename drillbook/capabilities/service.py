"""The service under drill: its clients' URL and its operators' admin operations."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Protocol

from drillbook.capabilities.operation import Operation


class Service(Protocol):
    """Glancy as clients and operators reach it (plan section 1)."""

    @property
    def url(self) -> str:
        """Where clients send requests (the router in front of the replicas)."""
        ...

    def health(self) -> dict[str, Any]:
        """GET /healthz; raises, naming the URL, when the service does not answer 200."""
        ...

    def point_database(self, name: str) -> Operation[dict]:
        """Runbook 5.1's connection-string update: use the database `name` (a zone, or a
        restored instance); reverted by pointing back at the primary zone."""
        ...

    def take_over(self, region: str) -> Operation[dict]:
        """Runbook 5.2 step 1, the warm-standby playbook of `region`: its standby database
        promoted, its Redis rebuilt, its replicas' configuration refreshed. Reverted by
        making it a warm standby again. For the primary region, rebuilt as a warm standby
        (stand_by), the failback: the other region fenced, its last WAL replayed, the regions'
        tables compared, the primary region promoted. The result names the `database` that
        takes the writes from now on, and a failback's `diff` (table -> instance -> rows,
        md5)."""
        ...

    def stand_by(self, region: str) -> Operation[dict]:
        """`region` made a warm standby of the region that now takes the writes: re-seeded
        from it and streaming. For the primary region after a cutover, the first step of the
        failback (reverted by making it writable again with what it holds); for the standby
        region after a failback, its normal state again."""
        ...

    def point_cache(self, node: str) -> Operation[dict]:
        """Use the Redis node `node` ("primary", "replica")."""
        ...

    def force_l2(self) -> Operation[dict]:
        """Runbook 5.1 step 3's 强制 L2: every replica reads Redis alone, its own L1 cache
        emptied and bypassed, until reverted; the result is the cache mode."""
        ...

    def versions(self) -> list[str]:
        """The version each replica reports."""
        ...

    def roll_out(self, version: str) -> Operation[list[dict]]:
        """Replace every replica, one at a time with no failed request, by `version`;
        reverted by rolling back to the version each replaced. Its result: the roll steps."""
        ...

    def lookup(self, word: str, user: str) -> tuple[int, dict[str, str], dict]:
        """GET /lookup as a client: status, headers, JSON body."""
        ...

    def regenerate(self, word: str, user: str) -> tuple[int, dict]:
        """POST /regenerate as a client: status and JSON body."""
        ...

    def history(self, user: str) -> list[dict]:
        """GET /history: the user's lookups, newest first."""
        ...

    def delete_history(self, user: str) -> dict:
        """DELETE /history: the user's deletion request (queued for replay)."""
        ...

    def replay_deletions(self, since: float) -> Operation[dict]:
        """The deletion queue replayed from `since` (epoch seconds), after a restore."""
        ...

    def reconcile_orders(self) -> Operation[dict]:
        """The reconciliation job: the payment provider's records against the orders and
        their entitlements, what a restore lost recorded again; its result lists what differed
        and what was repaired."""
        ...

    def check_orders(self) -> dict:
        """The reconciliation job without repair: what differs between the payment provider's
        records and the orders and their entitlements, nothing changed."""
        ...

    def recompute_quota(self) -> Operation[dict]:
        """The quota compensation job: today's counters rebuilt from the usage records."""
        ...

    def quota(self, user: str) -> dict:
        """The user's daily limit, counter and day."""
        ...

    def add_users(self, users: list[str], daily_limit: int) -> None:
        """New users of the service, each with a profile whose daily lookup quota is
        `daily_limit` (the operator's insert into `profiles`)."""
        ...

    def lookups_today(self, user: str, day: str) -> int:
        """The user's lookups of the UTC day `day` (as `quota()` names it) in the service's
        usage records in PostgreSQL, which its quota counters are compensated from."""
        ...

    def budget(self) -> dict:
        """The month's LLM budget: tokens, used, state."""
        ...

    def spend_tokens(self, tokens: int) -> Operation[dict]:
        """LLM spend recorded against the month's budget; reverted by taking it back."""
        ...

    def llm_breaker(self) -> dict[str, Any]:
        """The LLM adapter's breaker: shared state and every transition."""
        ...

    def cache_stats(self) -> dict[str, Any]:
        """The service's own cache reads (hits, misses) summed over its replicas."""
        ...

    def publish_config(self, changes: Mapping[str, Any], trace_id: str) -> Operation[dict]:
        """A configuration release, as the config center publishes one: what the replicas run,
        with `changes` (dotted key -> value), under the release's W3C `trace_id`. Reverted by
        publishing what they run again. The replicas check a release (plan section 2's
        Config 校验) and keep serving what they loaded; the result names the keys only."""
        ...

    def rotate_key(self, key: str, days: float, trace_id: str) -> Operation[dict]:
        """Plan section 2's 密钥轮转: a new secret at `key`, declared valid `days` from now,
        published as a release under `trace_id`. Reverted by publishing what the replicas run
        again; the result names the key, never the secret."""
        ...


# The kind of a takeover in the journal and the history, either way between the regions.
TAKE_OVER = "warm-standby cutover"
# The kind of forcing L2, and its target, in the journal and the history.
FORCE_L2, CACHE_TIERS = "force L2", "service cache tiers"
# The target a release is journaled under (Service.roll_out): restoring it rolls back.
RELEASE = "service release"
# The target LLM spend is journaled under (Service.spend_tokens).
LLM_BUDGET = "llm budget"
# Where a release declares when each secret expires: `key_expiry` mirrors the configuration's
# sections (reference.config), as a key service would declare it.
KEY_EXPIRY = "key_expiry"


def expiry_changes(keys: Iterable[str], at: float) -> dict[str, str]:
    """The changes of a release that declare each of `keys` expiring at `at` (epoch s)."""
    when = datetime.fromtimestamp(at, UTC).isoformat()
    return {f"{KEY_EXPIRY}.{key}": when for key in keys}


# The target configuration releases are journaled under, and their kinds.
CONFIGURATION = "service configuration"
PUBLISH_CONFIG, ROTATE_KEY = "configuration release", "key rotation"
