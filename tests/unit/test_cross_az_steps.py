"""Runbook 5.1's own steps: its triggers observed (the replication lag above 5 s, a probe's
endpoint unreachable), the RPO measured at the promotion and at the service's move, and the
runbook lines a feature's comments name."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from drillbook.capabilities.operation import REMEDIATION
from drillbook.conditions import resolve
from drillbook.drill import NEMESIS, CheckFailed, MissingStep
from drillbook.profile import load_profile
from drillbook.runbook_lines import RunbookLine, runbook_lines
from drillbook.workload import History, Op
from steps import DatabaseInUse, failover, measure
from tests.drills import make_drill

ROOT = Path(__file__).resolve().parents[2]
PROFILE = load_profile(ROOT / "environments" / "local.yaml")
T0 = 1_700_000_000.0
PROMOTED_AT = T0 + 10
MOVED_AT = T0 + 11

pytestmark = pytest.mark.filterwarnings("ignore:.*not added to the Allure report")


def lag_sample(history: History, at: float, delay_s: float) -> None:
    """A sample of a standby that had replayed nothing newer than `delay_s` ago, sampled
    without the primary's side (its replay delay stands alone then)."""
    value = {"standby_replay_delay_s": delay_s, "standby_receive_replay_bytes": 0}
    history.record(Op("lag:az-b", "sample", at - 0.01, at, "ok", value=value))


def remediation(history: History, at: float, kind: str, target: str) -> None:
    history.record(Op(NEMESIS, REMEDIATION, at, at + 0.5, "ok", {"kind": kind, "target": target}))


def failed_over(history: History, tmp_path: Path, *, lost: set[int] = frozenset()):
    """A drill with a writer every 0.1 s from T0-5 s to the move, az-b promoted at T0+10 s and
    the service moved to it half a second later; `lost`: the ids az-b lacks."""
    ids = range(1, 161)
    for n in ids:
        start = T0 - 5 + n / 10
        history.record(Op("writer", "write", start, start + 0.002, "ok", value=n))
    remediation(history, PROMOTED_AT, "promote", "postgres az-b")
    remediation(history, MOVED_AT - 0.5, "switch endpoint", "service database -> az-b")
    drill = make_drill(history, tmp_path, t0=T0)
    drill.remember(DatabaseInUse("az-b"))
    drill.remember(measure.Survivors(frozenset(set(ids) - set(lost))))
    return drill, SimpleNamespace()


def test_the_lag_condition_holds_once_the_last_sample_exceeds_the_limit(tmp_path):
    poll_factory, kwargs = resolve("the replication lag of az-b is above 5 seconds")
    history = History()
    drill = make_drill(history, tmp_path)
    poll = poll_factory(drill=drill, **kwargs)

    assert poll() == (False, "no lag sample of az-b yet (lag:az-b)")
    lag_sample(history, T0, 3.0)
    done, seen = poll()
    assert not done and "replication lag of az-b 3.00 s" in seen
    lag_sample(history, T0 + 1, 6.2)
    done, seen = poll()
    assert done and "6.20 s" in seen


def test_the_fail_condition_needs_a_whole_window_of_failures(tmp_path):
    poll_factory, kwargs = resolve('the probes of "redis:cache" fail')
    assert kwargs == {"path": "redis:cache"}
    history = History()
    drill = make_drill(history, tmp_path)
    poll = poll_factory(drill=drill, dr_profile=PROFILE, **kwargs)
    window = PROFILE.workload["window_requests"]

    for i in range(window - 1):
        history.record(Op("redis:cache", "PING", T0 + i / 10, T0 + i / 10, "fail", error="refused"))
    done, seen = poll()
    assert not done and f"{window - 1} of the last {window - 1}" in seen
    history.record(Op("redis:cache", "PING", T0 + 5, T0 + 5, "fail", error="refused"))
    done, seen = poll()
    assert done and "(last error: refused)" in seen
    history.record(Op("redis:cache", "PING", T0 + 6, T0 + 6, "ok"))
    assert not poll()[0]


def test_rpo_by_lag_at_the_promotion_fails_when_the_standby_lagged_too_far(tmp_path):
    history = History()
    lag_sample(history, PROMOTED_AT - 0.2, 301.0)
    drill, _ = failed_over(history, tmp_path)

    with pytest.raises(CheckFailed, match=r"at the promotion of az-b check failed: .* 301.00 s"):
        failover.rpo_lag_at_promotion(drill, "az-b", 5, "minutes")
    verdict = drill.verdicts[-1].result
    assert "0.20 s before the promotion" in verdict.explanation


def test_rpo_by_lag_at_the_promotion_reads_the_sample_before_it(tmp_path):
    history = History()
    lag_sample(history, PROMOTED_AT - 0.2, 6.5)
    lag_sample(history, PROMOTED_AT + 2, 900.0)  # the promoted standby, no longer replaying
    drill, _ = failed_over(history, tmp_path)

    failover.rpo_lag_at_promotion(drill, "az-b", 5, "minutes")
    assert drill.verdicts[-1].result.figure == pytest.approx(6.5)


def test_rpo_at_the_move_counts_the_writes_lost_after_t0(tmp_path):
    """The writes the old primary took after T0 are lost at the move: the RPO from T0 cannot
    see them, the one at the move does."""
    lost = set(range(100, 161))  # acknowledged from T0+5 s on, never replayed by az-b
    drill, database = failed_over(History(), tmp_path, lost=lost)

    measure.rpo_at_most(drill, database, 1, "seconds")  # from T0: nothing before it was lost
    with pytest.raises(CheckFailed, match=r"RPO of the move to az-b check failed: RPO of the"):
        failover.rpo_at_move(drill, database, "az-b", 5, "seconds")
    result = drill.verdicts[-1].result
    assert result.figure == pytest.approx(MOVED_AT - (T0 + 4.902), abs=0.01)
    assert "acknowledged before the move to az-b" in result.explanation


def test_the_rpo_steps_name_the_step_they_measure_at(tmp_path):
    drill = make_drill(History(), tmp_path, t0=T0)
    with pytest.raises(MissingStep, match="'When the standby in az-b is promoted' earlier"):
        failover.rpo_lag_at_promotion(drill, "az-b", 5, "minutes")
    with pytest.raises(MissingStep, match="'When the service is pointed at the database in az-b'"):
        failover.rpo_at_move(drill, SimpleNamespace(), "az-b", 5, "minutes")


def test_a_runbook_comment_names_the_steps_below_it_up_to_the_next_or_a_blank_line(tmp_path):
    feature = tmp_path / "r.feature"
    feature.write_text(
        "Feature: f\n"
        "  Scenario: s\n"
        "    Given a start\n"
        "    # 5.1 执行步骤 1：kubectl cordon az-a\n"
        "    When one\n"
        "    # a plain comment\n"
        "    And two\n"
        "    # 5.1 验证：全部 Ready\n"
        "    Then three\n"
        "    # 2 RTO：≤30 min\n"
        "    And four\n"
        "\n"
        "    And five\n",
        encoding="utf-8",
    )
    step_one = RunbookLine("5.1", "执行步骤 1：kubectl cordon az-a")
    assert runbook_lines(feature) == {
        5: step_one,
        7: step_one,
        9: RunbookLine("5.1", "验证：全部 Ready"),
        11: RunbookLine("2", "RTO：≤30 min"),
    }
