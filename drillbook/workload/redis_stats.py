"""Redis INFO sampled on a schedule: the hit rate and reachability monitoring sees (plan 2)."""

from __future__ import annotations

from collections.abc import Callable

from drillbook.workload.history import History, Op, short_error
from drillbook.workload.paced import PacedWorker
from drillbook.workload.probes import RedisClientOf, outcome_of, timed

SECTIONS = ("server", "stats", "persistence", "replication")


class RedisStatsSampler(PacedWorker):
    """Records INFO of the Redis that `url()` names every `interval_s` as an op of process
    `redis-stats:<name>`, f "INFO".

    value: `keyspace_hits` and `keyspace_misses` (key reads since the server started),
    `run_id` (a restarted server has another), `role` and `loading`. A sample the node did not
    answer is "fail" (or "info" on a timeout): the node unreachable, as monitoring sees it.
    """

    def __init__(
        self,
        history: History,
        url: Callable[[], str],
        name: str,
        interval_s: float = 0.2,
        timeout_s: float = 1.0,
    ) -> None:
        super().__init__(f"redis-stats:{name}", interval_s)
        self.history = history
        self._client = RedisClientOf(url, timeout_s)

    def _tick(self) -> None:
        started, ended, (outcome, value, error) = timed(self._sample)
        self.history.record(
            Op(self.name, "INFO", started, ended, outcome, value=value, error=error)
        )

    def _sample(self) -> tuple[str, dict | None, str | None]:
        try:
            info = self._client.get().info(*SECTIONS)
        except Exception as exc:  # url() is the caller's code: any failure means no sample
            return outcome_of(exc), None, short_error(exc)
        keys = ("keyspace_hits", "keyspace_misses", "run_id", "role", "loading")
        return "ok", {key: info[key] for key in keys}, None

    def _close(self) -> None:
        self._client.close()
