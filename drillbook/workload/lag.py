"""Replication lag of the standby, sampled from both ends of the stream (seed section 7)."""

from __future__ import annotations

from collections.abc import Callable

from drillbook.workload.history import History, Op
from drillbook.workload.paced import PacedWorker
from drillbook.workload.probes import PgClient, timed

# One statement per side, so the figures of a side belong to the same moment. The primary is
# sampled first and its WAL position is handed to the standby's statement: WAL the primary had
# written that the standby has not replayed a moment later is known to be missing there, which
# the primary alone cannot tell (its replay_lsn and replay_lag are the standby's last feedback,
# and they keep their values when the feedback stops).
# The walsender's row for the standby is the one whose application_name is its cluster_name;
# the primary's columns come back even when it has none (the standby is not connected). Its
# last commit time needs track_commit_timestamp (NULL without it); a node in recovery has no
# WAL position of its own to compare.
PRIMARY_SQL = """
SELECT CASE WHEN NOT pg_is_in_recovery() THEN pg_current_wal_lsn()::text END,
       CASE WHEN NOT pg_is_in_recovery() AND current_setting('track_commit_timestamp')::bool
            THEN extract(epoch FROM (pg_last_committed_xact()).timestamp)::float8 END,
       r.pid IS NOT NULL,
       extract(epoch FROM r.replay_lag)::float8,
       pg_wal_lsn_diff(r.sent_lsn, r.replay_lsn)::bigint,
       extract(epoch FROM now() - r.reply_time)::float8
FROM (SELECT 1) AS here
LEFT JOIN pg_stat_replication AS r ON r.application_name = %s
"""
# pg_last_xact_replay_timestamp() is the primary's commit time of the last replayed transaction:
# NULL before the first one, and now() minus it grows while the primary is idle, so it
# overstates the lag then. The receive LSN is the WAL receiver's flushed position, which starts
# over at the beginning of a segment when streaming (re)starts; replay can be ahead of it then
# (a sample read -520 bytes). No received WAL is waiting in that case, hence the 0 floors.
STANDBY_SQL = """
SELECT extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8,
       greatest(pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()), 0)::bigint,
       extract(epoch FROM pg_last_xact_replay_timestamp())::float8,
       greatest(pg_wal_lsn_diff(%s::pg_lsn, pg_last_wal_replay_lsn()), 0)::bigint
"""


class LagSampler(PacedWorker):
    """Records the standby's lag every `interval_s` as an op of process `lag:<name>`, f "sample".

    value, from the standby: `standby_replay_delay_s` (now() - pg_last_xact_replay_timestamp()),
    `standby_last_replay_at` (that timestamp, epoch s: the primary's commit time of the last
    replayed transaction) and `standby_receive_replay_bytes` (received but not yet replayed WAL).
    When `primary_dsn` is given, the primary is sampled just before the standby and the value
    also has `streaming` (whether the primary has a walsender for application_name `name`),
    `primary_replay_lag_s` (pg_stat_replication.replay_lag, NULL once caught up and idle),
    `primary_sent_replay_bytes` (sent_lsn - replay_lsn as of the standby's last feedback),
    `primary_feedback_age_s` (now() - reply_time: how old that feedback is),
    `primary_last_commit_at` (epoch s of the primary's last commit, None without
    track_commit_timestamp) and `primary_written_standby_replay_bytes` (WAL the primary had
    written that the standby had not replayed when sampled right after; None without the
    primary's WAL position). `rpo_lag` reads them.

    A sample is "ok" only if every side answered; otherwise it takes the standby's outcome if
    the standby failed, else the primary's (see PgClient), and keeps what was measured.
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
        app = f"drillbook-lag-{name}"
        self._standby = PgClient(standby_dsn, timeout_s, app)
        self._primary = None if primary_dsn is None else PgClient(primary_dsn, timeout_s, app)
        clients = [self._standby] if self._primary is None else [self._primary, self._standby]
        longest = sum(client.longest_s for client in clients)  # one statement each, in turn
        super().__init__(f"lag:{name}", interval_s, tick_timeout_s=longest)
        self.history = history
        self.standby_name = name

    def _tick(self) -> None:
        started, ended, (outcome, value, error) = timed(self._sample)
        self.history.record(
            Op(self.name, "sample", started, ended, outcome, value=value, error=error)
        )

    def _sample(self) -> tuple[str, dict, str | None]:
        value: dict = {}
        primary_wal_lsn = None
        primary_outcome, primary_error = "ok", None
        if self._primary is not None:
            primary_outcome, rows, primary_error = self._primary.run(
                PRIMARY_SQL, [self.standby_name]
            )
            primary_wal_lsn, last_commit, streaming, replay_lag, unreplayed, feedback_age = (
                rows[0] if rows else (None,) * 6
            )
            value = {
                "streaming": streaming if primary_outcome == "ok" else None,
                "primary_replay_lag_s": replay_lag,
                "primary_sent_replay_bytes": unreplayed,
                "primary_feedback_age_s": feedback_age,
                "primary_last_commit_at": last_commit,
            }
        outcome, rows, error = self._standby.run(STANDBY_SQL, [primary_wal_lsn])
        delay, pending, last_replay, behind_primary = rows[0] if rows else (None,) * 4
        value = {
            "standby_replay_delay_s": delay,
            "standby_receive_replay_bytes": pending,
            "standby_last_replay_at": last_replay,
            **value,
        }
        if self._primary is not None:
            value["primary_written_standby_replay_bytes"] = behind_primary
        if error is not None:
            return outcome, value, f"standby: {error}"
        if primary_error is not None:
            return primary_outcome, value, f"primary: {primary_error}"
        return outcome, value, None

    def _close(self) -> None:
        self._standby.close()
        if self._primary is not None:
            self._primary.close()
