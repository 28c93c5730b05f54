"""The RPO by replication lag while the standby's WAL receiver is stalled, on the real stack.

The primary's replay_lag keeps its last value when the standby stops sending feedback: with the
WAL receiver stopped it read 0.002 s while 2.96 s of acknowledged writes were missing. The
figure must show the stall. The primary is not killed: the stack is left healthy.
"""

from __future__ import annotations

import os
import signal
import time

import pytest

from drillbook.checks import rpo_lag
from drillbook.stack import LocalStack
from drillbook.workload import History, LagSampler, Workload, Writer

pytestmark = pytest.mark.integration

STALL_S = 3.0
# About the observed load (594 writes in 3 s): at it the primary's replay_lag stays non-NULL
# and goes stale during the stall; with sparser writes it is often NULL (caught up).
WRITE_INTERVAL_S = 0.005


def test_rpo_lag_fails_while_the_standby_wal_receiver_is_stalled(stack: LocalStack):
    primary, standby = stack.pg.primary, stack.pg.standby
    history = History()
    receiver = standby.wal_receiver_pid()
    assert receiver is not None, f"{standby.name} has no WAL receiver"
    with Workload(history) as workload:
        workload.add(LagSampler(history, lambda: standby.admin_dsn, lambda: primary.admin_dsn, 0.1))
        workload.add(Writer(history, lambda: primary.app_dsn, interval_s=WRITE_INTERVAL_S))
        time.sleep(1.0)
        stalled_at = time.time()
        os.kill(receiver, signal.SIGSTOP)
        try:
            time.sleep(STALL_S)
            t0 = time.time()
        finally:
            os.kill(receiver, signal.SIGCONT)
    stack.pg.wait_standby_caught_up(timeout_s=30)

    before = rpo_lag(history, stalled_at, 1.0)
    assert before.verdict == "pass", before.explanation

    result = rpo_lag(history, t0, 1.0)
    assert result.verdict == "fail", result.explanation
    assert result.figure >= STALL_S - 0.5, result.explanation
    assert result.details["bound"] in {"feedback_age", "standby_replay_delay"}
    assert result.details["commit_outstanding"] is True
    assert result.details["outstanding_bytes"] > 0
    last = [op for op in history.ops("lag:az-b") if op.outcome == "ok" and op.end <= t0][-1]
    value = last.value
    assert value["streaming"] is True
    # What the primary shows of the stall: feedback that stopped, WAL sent but not replayed.
    assert value["primary_feedback_age_s"] >= STALL_S - 0.5
    assert value["primary_sent_replay_bytes"] > 0
