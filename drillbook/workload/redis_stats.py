"""The Redis cache sampled on a schedule: its hit rate and its node's reachability, the two
halves of the plan's Redis signal (section 2)."""

from __future__ import annotations

from collections.abc import Callable

from drillbook.workload.history import History, Op, short_error
from drillbook.workload.paced import PacedWorker
from drillbook.workload.probes import RedisClientOf, outcome_of, timed

SECTIONS = ("server", "stats", "persistence", "replication")
CACHE_KEYS = ("hits", "misses", "unavailable", "since")
INFO_KEYS = ("run_id", "role", "loading")


class RedisStatsSampler(PacedWorker):
    """Every `interval_s`, reads the service's cache counters (`cache_stats()`) and the INFO of
    the Redis that `url()` names, and records both as one op of process `redis-stats:<name>`,
    f "stats".

    The hit rate is the cache's own: `cache_stats()` answers the service's result-cache reads
    since its counters started (`hits`, `misses`, `unavailable`, and `since`, which changes when
    they start again from 0), summed over its replicas. INFO's keyspace counters are not used:
    they count every key read, the quota and budget counters' too, which hit even when the
    cache is cold.

    The outcome is INFO's: "ok" if the node answered, else "fail" (or "info" on a timeout), the
    node unreachable as monitoring sees it. value: `cache_hits`, `cache_misses`,
    `cache_unavailable`, `cache_since` (None when the service did not answer, which the error
    then says), and from INFO `run_id` (a restarted or other node has another), `role` and
    `loading` (None when the node did not answer).
    """

    def __init__(
        self,
        history: History,
        cache_stats: Callable[[], dict],
        url: Callable[[], str],
        name: str,
        interval_s: float = 0.2,
        timeout_s: float = 1.0,
    ) -> None:
        self._client = RedisClientOf(url, timeout_s)
        # the INFO's bound; cache_stats() is the caller's, bounded by its own timeout
        super().__init__(f"redis-stats:{name}", interval_s, tick_timeout_s=self._client.longest_s)
        self.history = history
        self.cache_stats = cache_stats

    def _tick(self) -> None:
        started, ended, (outcome, value, error) = timed(self._sample)
        self.history.record(
            Op(self.name, "stats", started, ended, outcome, value=value, error=error)
        )

    def _sample(self) -> tuple[str, dict, str | None]:
        errors = []
        outcome = "ok"
        try:
            info = self._client.get().info(*SECTIONS)
        except Exception as exc:  # url() is the caller's code: any failure means no sample
            outcome, info = outcome_of(exc), {}
            errors.append(short_error(exc))
        try:
            counts = self.cache_stats()
        except Exception as exc:  # as is cache_stats()
            counts = {}
            errors.append(f"cache stats: {short_error(exc)}")
        value = {f"cache_{key}": counts.get(key) for key in CACHE_KEYS}
        value |= {key: info.get(key) for key in INFO_KEYS}
        return outcome, value, "; ".join(errors) or None

    def _close(self) -> None:
        self._client.close()
