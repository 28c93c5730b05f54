"""Every assertion step of the vocabulary fails, naming figure, threshold and evidence, when
the drill's history breaks its threshold (and passes when it does not)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from drillbook.conditions import resolve
from drillbook.drill import Drill
from drillbook.profile import load_profile
from drillbook.workload import History, Op
from steps import conditions, database, llm, measure

ROOT = Path(__file__).resolve().parents[2]
PROFILE = load_profile(ROOT / "environments" / "local.yaml")
T0 = 1_700_000_000.0

pytestmark = pytest.mark.filterwarnings("ignore:.*not added to the Allure report")


def drill_with(history: History, tmp_path: Path, **facts) -> Drill:
    drill = Drill("s", Path("x.feature"), 1, set(), tmp_path, history=history)
    drill.t0 = T0
    drill.facts.update(facts)
    return drill


def probes(outage_s: float, *, after_s: float = 30, latency_s: float = 0.005) -> History:
    """Two endpoints probed at 10 Hz from T0-5 s; failing for `outage_s` after T0."""
    history = History()
    for path in ("/lookup", "/history"):
        for i in range(int((after_s + 5) * 10)):
            start = T0 - 5 + i / 10
            outcome = "fail" if T0 <= start < T0 + outage_s else "ok"
            history.record(Op(f"probe:{path}", f"GET {path}", start, start + latency_s, outcome))
    return history


def writes(lost: set[int]) -> tuple[History, set[int]]:
    """Writer ops every 0.1 s before T0; returns the history and the ids that survived."""
    history = History()
    for n in range(1, 51):
        start = T0 - 5 + n / 10
        history.record(Op("writer", "write", start, start + 0.002, "ok", value=n))
    return history, set(range(1, 51)) - lost


def test_rto_step_fails_with_measured_value_and_evidence_path(tmp_path):
    drill = drill_with(probes(4), tmp_path)
    with pytest.raises(AssertionError) as err:
        measure.rto_at_most(drill, PROFILE, 3, "seconds")
    message = str(err.value)
    assert "RTO check failed" in message and "threshold 3 s" in message
    assert "measured 4.0" in message and str(tmp_path) in message
    measure.rto_at_most(drill_with(probes(4), tmp_path), PROFILE, 30, "minutes")


def test_endpoint_rto_step_fails(tmp_path):
    with pytest.raises(AssertionError, match=r"RTO check failed.*threshold 1 s"):
        measure.endpoint_rto_at_most(
            drill_with(probes(4), tmp_path), PROFILE, "/lookup", 1, "seconds"
        )


def test_sla_step_fails(tmp_path):
    drill = drill_with(probes(4), tmp_path)  # 40 of 350 probes per endpoint failed
    with pytest.raises(AssertionError, match=r"SLA check failed.*threshold 99 %"):
        measure.sla_at_least(drill, 99.0)
    measure.sla_at_least(drill_with(probes(4), tmp_path), 80.0)


def test_p95_against_baseline_step_fails(tmp_path):
    history = probes(0, latency_s=0.010)
    for i in range(100):  # the drill window is five times slower
        start = T0 + 30 + i / 10
        history.record(Op("probe:/lookup", "GET /lookup", start, start + 0.050, "ok"))
    drill = drill_with(history, tmp_path)
    windows = {"baseline": (T0 - 5, T0 + 25), "comparison": (T0 + 30, T0 + 40)}
    for name, (start, end) in windows.items():
        drill.marks.update({f"{name} start": start, f"{name} end": end})
    with pytest.raises(AssertionError, match=r"P95 /lookup check failed.*threshold 110 %") as err:
        measure.p95_against_baseline(drill, "/lookup", 110)
    assert "500% > 110% of baseline beyond sampling noise" in str(err.value)


def test_p95_without_baseline_says_what_is_missing(tmp_path):
    with pytest.raises(AssertionError, match="no baseline"):
        measure.p95_against_baseline(drill_with(probes(0), tmp_path), "/lookup", 110)


def test_p95_limit_step_fails(tmp_path):
    drill = drill_with(probes(0, latency_s=3.0), tmp_path)
    with pytest.raises(AssertionError, match=r"P95 /history check failed.*threshold 2.5 s"):
        measure.p95_during_drill(drill, "/history", 2.5, "seconds")


def test_rpo_step_fails_when_a_write_before_t0_is_lost(tmp_path):
    history, survivors = writes(lost={30})
    drill = drill_with(history, tmp_path, survivors=survivors)
    with pytest.raises(AssertionError, match=r"RPO check failed.*threshold 1 s"):
        measure.rpo_at_most(drill, 1, "seconds")


def test_lost_writes_step_fails(tmp_path):
    history, survivors = writes(lost={30})
    drill = drill_with(history, tmp_path, survivors=survivors)
    with pytest.raises(AssertionError, match=r"lost writes check failed"):
        measure.no_write_lost(drill)
    history, survivors = writes(lost=set())
    measure.no_write_lost(drill_with(history, tmp_path, survivors=survivors))


def test_rpo_by_lag_step_fails(tmp_path):
    history = History()
    sample = {"standby_replay_delay_s": 9.0, "standby_receive_replay_bytes": 0}
    history.record(Op("lag:az-b", "sample", T0 - 1, T0 - 0.99, "ok", value=sample))
    with pytest.raises(AssertionError, match=r"RPO \(replication lag\) check failed"):
        measure.rpo_by_lag(drill_with(history, tmp_path), 5, "seconds")


def test_restore_time_step_fails(tmp_path):
    drill = drill_with(History(), tmp_path, restore_s=90.0)
    with pytest.raises(AssertionError, match=r"restore time check failed.*threshold 60 s"):
        database.restore_time(drill, 1, "minutes")


class FakeNode:
    def __init__(self, rows):
        self.rows = rows

    def query(self, statement, params=None, *, dbname="postgres"):
        return self.rows


def test_restored_table_step_fails_on_one_different_row(tmp_path):
    at = datetime(2026, 1, 1, tzinfo=UTC)
    expected = [(1, "u-0001", "lucid", at), (2, "u-0002", "quorum", at)]
    restored = [(1, "u-0001", "lucid", at), (3, "u-0003", "latency", at)]
    drill = drill_with(History(), tmp_path, rows_at_target=expected, restored=FakeNode(restored))
    with pytest.raises(AssertionError, match=r"1 rows missing, 1 unexpected"):
        database.restored_equals_target(drill)
    database.restored_equals_target(
        drill_with(History(), tmp_path, rows_at_target=expected, restored=FakeNode(expected))
    )


def test_history_steps_fail_when_deleted_rows_come_back(tmp_path, monkeypatch):
    answers = {"u-0007": [{"id": 7}], "u-0001": [{"id": 1}]}
    monkeypatch.setattr(database, "service_history", lambda _env, user: answers.get(user, []))
    with pytest.raises(AssertionError, match=r"user u-0007 still has 1 lookups"):
        database.history_empty(None, "u-0007")
    at = datetime(2026, 1, 1, tzinfo=UTC)
    drill = drill_with(
        History(),
        tmp_path,
        deleted_users=["u-0007"],
        rows_at_target=[(1, "u-0001", "w", at), (2, "u-0001", "w", at)],
    )
    with pytest.raises(
        AssertionError, match=r"history of u-0001: expected ids \[1, 2\], got \[1\]"
    ):
        database.others_unchanged(drill, None)


def test_within_fails_at_the_deadline_with_the_last_observation(tmp_path):
    drill = drill_with(probes(100, after_s=101), tmp_path)  # never recovers

    class Request:
        @staticmethod
        def getfixturevalue(name):
            return PROFILE

    with pytest.raises(AssertionError, match=r"timed out after 0.3 s .* not recovered"):
        conditions.within(Request(), drill, lambda _: None, 0.3, "the probes succeed again")


def test_unknown_condition_lists_the_known_ones():
    with pytest.raises(
        LookupError, match=r"(?s)unknown condition 'the moon rises'.*probes succeed"
    ):
        resolve("the moon rises")


def test_endpoint_condition_waits_for_that_endpoint_alone(tmp_path):
    poll_factory, kwargs = resolve('the probes of "/lookup" succeed again')
    assert kwargs == {"path": "/lookup"}

    class Request:
        @staticmethod
        def getfixturevalue(name):
            return PROFILE

    drill = drill_with(probes(2, after_s=20), tmp_path)
    done, observed = poll_factory(Request(), drill, **kwargs)()
    assert done, observed
    assert drill.recovered_at == pytest.approx(T0 + 2, abs=0.11)


def lookup_history(*flags: bool | None) -> History:
    """Lookups every 0.1 s from T0; None is a failed request, else the degraded flag."""
    history = History()
    for i, degraded in enumerate(flags):
        start = T0 + i / 10
        outcome = "fail" if degraded is None else "ok"
        value = None if degraded is None else {"degraded": degraded}
        history.record(Op("probe:/lookup", "GET /lookup", start, start + 0.01, outcome, value))
    return history


def test_degraded_payload_step_fails_on_a_full_answer_during_the_fault(tmp_path):
    drill = drill_with(lookup_history(True, True, False, True), tmp_path)
    drill.marks["llm restored"] = T0 + 1
    with pytest.raises(AssertionError, match=r"degraded answers check failed.*3 of 4"):
        llm.all_degraded(drill)


def test_no_failed_request_step_fails(tmp_path):
    drill = drill_with(lookup_history(True, None, True), tmp_path)
    with pytest.raises(AssertionError, match=r"SLA check failed.*threshold 100 %"):
        measure.no_request_failed(drill, "/lookup")


class BreakerEnvironment:
    """The environment as far as the breaker step sees it."""

    def __init__(self, transitions):
        self.service = self
        self.transitions = transitions

    def llm_breaker(self):
        return {"state": "closed", "transitions": self.transitions}


def test_breaker_step_fails_when_it_opened_late_or_never(tmp_path):
    late = BreakerEnvironment([{"from": "closed", "to": "open", "at": T0 + 12, "reason": "x"}])
    with pytest.raises(AssertionError, match=r"breaker opened check failed.*threshold 10 s"):
        llm.breaker_opened(drill_with(History(), tmp_path), late, 10, "seconds")
    with pytest.raises(AssertionError, match=r"breaker opened: never completed"):
        llm.breaker_opened(drill_with(History(), tmp_path), BreakerEnvironment([]), 10, "seconds")
    early = BreakerEnvironment([{"from": "closed", "to": "open", "at": T0 + 2, "reason": "x"}])
    llm.breaker_opened(drill_with(History(), tmp_path), early, 10, "seconds")


def test_full_answers_step_fails_when_they_do_not_come_back(tmp_path):
    drill = drill_with(lookup_history(True, True, True, True), tmp_path)
    drill.marks["llm restored"] = T0 + 0.1
    with pytest.raises(AssertionError, match=r"full answers back: never completed"):
        llm.full_answers_back(drill, 30, "seconds")
