"""Replication lag of the standby, sampled from both ends of the stream (seed section 7)."""

from __future__ import annotations

from collections.abc import Callable

from drillbook.workload.history import History, Op
from drillbook.workload.paced import PacedWorker
from drillbook.workload.probes import PgClient, timed

# One statement per side, so the figures of a sample belong to the same moment.
# The seed's rpo_window, NULL before the first replayed transaction; it also grows while the
# primary is idle, so it overstates the lag then (the primary's replay_lag does not).
# The receive LSN is the WAL receiver's flushed position, which starts over at the beginning of
# a segment when streaming (re)starts; replay can be ahead of it then (a sample read -520
# bytes). No received WAL is waiting in that case, hence the 0 floor.
STANDBY_SQL = """
SELECT extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8,
       greatest(pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()), 0)::bigint
"""
# The walsender's row for the standby, whose application_name is its cluster_name.
PRIMARY_SQL = """
SELECT extract(epoch FROM replay_lag)::float8,
       pg_wal_lsn_diff(sent_lsn, replay_lsn)::bigint
FROM pg_stat_replication
WHERE application_name = %s
"""


class LagSampler(PacedWorker):
    """Records the standby's lag every `interval_s` as an op of process `lag:<name>`, f "sample".

    value: `standby_replay_delay_s` (now() - pg_last_xact_replay_timestamp() on the standby),
    `standby_receive_replay_bytes` (received but not yet replayed WAL), and when `primary_dsn`
    is given `streaming` (whether the primary has a walsender for application_name `name`),
    `primary_replay_lag_s` (pg_stat_replication.replay_lag, NULL once caught up and idle) and
    `primary_sent_replay_bytes`. A sample is "ok" only if every side answered; otherwise it
    takes the first failing side's outcome (see PgClient) and keeps what was measured.
    """

    def __init__(
        self,
        history: History,
        standby_dsn: Callable[[], str],
        primary_dsn: Callable[[], str] | None = None,
        interval_s: float = 0.2,
        timeout_s: float = 1.0,
        name: str = "az-b",
    ) -> None:
        super().__init__(f"lag:{name}", interval_s)
        self.history = history
        self.standby_name = name
        app = f"drillbook-lag-{name}"
        self._standby = PgClient(standby_dsn, timeout_s, app)
        self._primary = None if primary_dsn is None else PgClient(primary_dsn, timeout_s, app)

    def _tick(self) -> None:
        started, ended, (outcome, value, error) = timed(self._sample)
        self.history.record(
            Op(self.name, "sample", started, ended, outcome, value=value, error=error)
        )

    def _sample(self) -> tuple[str, dict, str | None]:
        outcome, rows, error = self._standby.run(STANDBY_SQL)
        delay, pending = rows[0] if rows else (None, None)
        value: dict = {"standby_replay_delay_s": delay, "standby_receive_replay_bytes": pending}
        if error is not None:
            error = f"standby: {error}"
        if self._primary is None:
            return outcome, value, error
        primary_outcome, rows, primary_error = self._primary.run(PRIMARY_SQL, [self.standby_name])
        replay_lag, unreplayed = rows[0] if rows else (None, None)
        value |= {
            "streaming": bool(rows) if primary_outcome == "ok" else None,
            "primary_replay_lag_s": replay_lag,
            "primary_sent_replay_bytes": unreplayed,
        }
        if outcome == "ok" and primary_error is not None:
            return primary_outcome, value, f"primary: {primary_error}"
        return outcome, value, error

    def _close(self) -> None:
        self._standby.close()
        if self._primary is not None:
            self._primary.close()
