"""Every assertion step of the vocabulary fails, naming figure, threshold and evidence, when
the drill's history breaks its threshold (and passes when it does not)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest

from drillbook.conditions import resolve
from drillbook.drill import CheckFailed, MissingStep
from drillbook.profile import load_profile
from drillbook.waits import WaitTimeout
from drillbook.workload import History, Op
from steps import DatabaseInUse, conditions, database, llm, measure
from tests.drills import fault_at, make_drill, restore_at

ROOT = Path(__file__).resolve().parents[2]
PROFILE = load_profile(ROOT / "environments" / "local.yaml")
T0 = 1_700_000_000.0

pytestmark = pytest.mark.filterwarnings("ignore:.*not added to the Allure report")


def drill_with(history: History, tmp_path: Path, *facts, key: str = ""):
    drill = make_drill(history, tmp_path, t0=T0)
    for fact in facts:
        drill.remember(fact)
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


def written(lost: set[int], tmp_path: Path):
    """A drill whose writer lost `lost`, and the database its survivors are read from."""
    history, survivors = writes(lost)
    drill = drill_with(history, tmp_path, DatabaseInUse("az-a"))
    database = SimpleNamespace(instance=lambda name: SimpleNamespace(name=name, app_dsn="x"))
    drill.remember(measure.Survivors(frozenset(survivors)))
    return drill, database


def test_rto_step_fails_with_measured_value_and_evidence_path(tmp_path):
    drill = drill_with(probes(4), tmp_path)
    with pytest.raises(CheckFailed) as err:
        measure.rto_at_most(drill, PROFILE, 3, "seconds")
    message = str(err.value)
    assert "RTO check fail" in message and "threshold 3 s" in message
    assert "measured 4.0" in message and str(tmp_path) in message
    measure.rto_at_most(drill_with(probes(4), tmp_path), PROFILE, 30, "minutes")


def test_endpoint_rto_step_fails(tmp_path):
    with pytest.raises(CheckFailed, match=r"RTO /lookup check fail.*threshold 1 s"):
        measure.endpoint_rto_at_most(
            drill_with(probes(4), tmp_path), PROFILE, "/lookup", 1, "seconds"
        )


def test_sla_step_fails(tmp_path):
    drill = drill_with(probes(4), tmp_path)  # 40 of 350 probes per endpoint failed
    with pytest.raises(CheckFailed, match=r"SLA check fail.*threshold 99 %"):
        measure.sla_at_least(drill, 99.0)
    measure.sla_at_least(drill_with(probes(4), tmp_path), 80.0)


def test_p95_against_baseline_step_fails(tmp_path):
    history = probes(0, latency_s=0.010)
    for i in range(100):  # the drill window is five times slower
        start = T0 + 30 + i / 10
        history.record(Op("probe:/lookup", "GET /lookup", start, start + 0.050, "ok"))
    windows = {"baseline": (T0 - 5, T0 + 25), "comparison": (T0 + 30, T0 + 40)}
    for name, (start, end) in windows.items():
        history.record(Op("window", name, start, end, "ok"))
    drill = drill_with(history, tmp_path)
    with pytest.raises(
        CheckFailed, match=r"P95 /lookup check fail.*threshold 1.1 × baseline"
    ) as err:
        measure.p95_against_baseline(drill, "/lookup", 110)
    assert "5.000 × baseline > 1.1 × baseline beyond sampling noise" in str(err.value)


def test_p95_without_baseline_says_what_is_missing(tmp_path):
    with pytest.raises(MissingStep, match="no baseline"):
        measure.p95_against_baseline(drill_with(probes(0), tmp_path), "/lookup", 110)


def test_p95_limit_step_fails(tmp_path):
    drill = drill_with(probes(0, latency_s=3.0), tmp_path)
    with pytest.raises(CheckFailed, match=r"P95 /history check fail.*threshold 2.5 s"):
        measure.p95_during_drill(drill, "/history", 2.5, "seconds")


def test_p95_limit_step_needs_a_fault(tmp_path):
    with pytest.raises(MissingStep, match="there is no T0"):
        measure.p95_during_drill(make_drill(probes(0), tmp_path), "/history", 2.5, "seconds")


def test_rpo_step_fails_when_a_write_before_t0_is_lost(tmp_path):
    drill, database = written({30}, tmp_path)
    with pytest.raises(CheckFailed, match=r"RPO check fail.*threshold 1 s"):
        measure.rpo_at_most(drill, database, 1, "seconds")


def test_lost_writes_step_fails(tmp_path):
    drill, database = written({30}, tmp_path)
    with pytest.raises(CheckFailed, match=r"lost writes check fail"):
        measure.no_write_lost(drill, database)
    measure.no_write_lost(*written(set(), tmp_path))


def test_rpo_by_lag_step_fails(tmp_path):
    history = History()
    sample = {"standby_replay_delay_s": 9.0, "standby_receive_replay_bytes": 0}
    history.record(Op("lag:az-b", "sample", T0 - 1, T0 - 0.99, "ok", value=sample))
    with pytest.raises(CheckFailed, match=r"RPO \(replication lag\) check fail"):
        measure.rpo_by_lag(drill_with(history, tmp_path), 5, "seconds")


def test_restore_time_step_fails(tmp_path):
    drill = drill_with(History(), tmp_path, database.Restored(SimpleNamespace(), 90.0))
    with pytest.raises(CheckFailed, match=r"restore time check fail.*threshold 60 s"):
        database.restore_time(drill, 1, "minutes")


class FakeInstance:
    name = "pitr"

    def __init__(self, rows):
        self.rows = rows
        self.reads = 0

    def lookups(self):
        self.reads += 1
        return self.rows


def restored(expected, rows, tmp_path):
    at = datetime(2026, 1, 1, tzinfo=UTC)
    return drill_with(
        History(),
        tmp_path,
        database.RestoreTarget(at, expected),
        database.Restored(FakeInstance(rows), 1.0),
    )


def test_restored_table_step_fails_on_one_different_row(tmp_path):
    at = datetime(2026, 1, 1, tzinfo=UTC)
    expected = [(1, "u-0001", "lucid", at), (2, "u-0002", "quorum", at)]
    restored_rows = [(1, "u-0001", "lucid", at), (3, "u-0003", "latency", at)]
    with pytest.raises(CheckFailed, match=r"2 rows of lookups differ.*1 missing, 1 unexpected"):
        database.restored_equals_target(restored(expected, restored_rows, tmp_path))
    database.restored_equals_target(restored(expected, expected, tmp_path))


def test_restored_rows_are_read_once_for_every_then(tmp_path):
    at = datetime(2026, 1, 1, tzinfo=UTC)
    rows = [(1, "u-0001", "lucid", at)]
    drill = restored(rows, rows, tmp_path)
    database.restored_equals_target(drill)
    database.restored_equals_target(drill)
    assert drill.recall(database.Restored).instance.reads == 1


def test_history_steps_fail_when_deleted_rows_come_back(tmp_path):
    answers = {"u-0007": [{"id": 7}], "u-0001": [{"id": 1}]}
    service = SimpleNamespace(history=lambda user: answers.get(user, []))
    at = datetime(2026, 1, 1, tzinfo=UTC)
    had_rows = database.RestoreTarget(at, [(7, "u-0007", "w", at), (8, "u-0008", "w", at)])
    with pytest.raises(CheckFailed, match=r"1 of 1 users' history differs.*u-0007: expected"):
        database.history_empty(drill_with(History(), tmp_path, had_rows), service, "u-0007")
    database.history_empty(drill_with(History(), tmp_path, had_rows), service, "u-0008")
    drill = drill_with(
        History(),
        tmp_path,
        database.DeletedUsers(("u-0007",)),
        database.RestoreTarget(at, [(1, "u-0001", "w", at), (2, "u-0001", "w", at)]),
    )
    with pytest.raises(CheckFailed, match=r"u-0001: expected ids \[1, 2\], got \[1\]"):
        database.others_unchanged(drill, service)


def test_history_empty_is_not_measured_when_the_user_had_nothing_at_the_target(tmp_path):
    at = datetime(2026, 1, 1, tzinfo=UTC)
    target = database.RestoreTarget(at, [(1, "u-0001", "w", at)])
    asked = []
    service = SimpleNamespace(history=lambda user: asked.append(user) or [])
    drill = drill_with(History(), tmp_path, target)
    with pytest.raises(CheckFailed, match=r"history of user u-0007 check not measured"):
        database.history_empty(drill, service, "u-0007")
    result = drill.results[-1]
    assert result.verdict == "not measured" and not result.passed and result.figure is None
    assert "u-0007 had no lookup at the target time" in result.explanation
    assert asked == []


def test_history_is_read_once_for_every_then(tmp_path):
    at = datetime(2026, 1, 1, tzinfo=UTC)
    target = database.RestoreTarget(at, [(1, "u-0001", "w", at), (7, "u-0007", "w", at)])
    asked = []
    answers = {"u-0001": [{"id": 1}]}
    service = SimpleNamespace(history=lambda user: asked.append(user) or answers.get(user, []))
    drill = drill_with(History(), tmp_path, target, database.DeletedUsers(("u-0007",)))
    database.history_empty(drill, service, "u-0007")
    database.others_unchanged(drill, service)
    answers["u-0001"] = []  # the live service changes after the first reading
    database.others_unchanged(drill, service)
    assert sorted(asked) == ["u-0001", "u-0007"]


def test_within_fails_at_the_deadline_with_the_last_observation(tmp_path):
    drill = drill_with(probes(100, after_s=101), tmp_path)  # never recovers

    class Request:
        @staticmethod
        def getfixturevalue(name):
            return PROFILE

    with pytest.raises(WaitTimeout, match=r"timed out after 0.3 s .* not recovered"):
        conditions.within(Request(), drill, lambda _: None, 0.3, "the probes succeed again")


def test_unknown_condition_lists_the_known_ones():
    with pytest.raises(
        LookupError, match=r"(?s)unknown condition 'the moon rises'.*probes succeed"
    ):
        resolve("the moon rises")


def test_endpoint_condition_waits_for_that_endpoint_alone(tmp_path):
    poll_factory, kwargs = resolve('the probes of "/lookup" succeed again')
    assert kwargs == {"path": "/lookup"}

    drill = drill_with(probes(2, after_s=20), tmp_path)
    done, observed = poll_factory(drill=drill, dr_profile=PROFILE, **kwargs)()
    assert done, observed
    assert drill.recovered_at == pytest.approx(T0 + 2, abs=0.11)


# The network as the LLM steps see it: the link's faults are journaled under its target.
NETWORK = SimpleNamespace(target=lambda link: f"proxy {link}")
LLM_LINK = "proxy llm"


def llm_drill(history: History, tmp_path: Path, *, other_fault_s: float | None = None):
    """A drill whose `llm` link was faulted at T0; with `other_fault_s`, another target was
    faulted that long before, so the scenario's T0 is not the link's."""
    if other_fault_s is not None:
        fault_at(history, T0 - other_fault_s, target="postgres az-a")
    fault_at(history, T0, target=LLM_LINK)
    return make_drill(history, tmp_path)


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
    history = lookup_history(True, True, False, True)
    restore_at(history, T0 + 1, target=LLM_LINK)
    drill = llm_drill(history, tmp_path)
    with pytest.raises(CheckFailed, match=r"degraded answers check fail.*3 of 4"):
        llm.all_degraded(drill, NETWORK)


def test_degraded_payload_window_is_the_llm_links_own(tmp_path):
    """A full answer before the link's fault, while another fault was on, is not in it."""
    history = lookup_history(True, True, True)
    history.record(Op("probe:/lookup", "GET /lookup", T0 - 5, T0 - 4.99, "ok", {"degraded": False}))
    restore_at(history, T0 + 1, target=LLM_LINK)
    restore_at(history, T0 + 9, target="postgres az-a")  # a later restore of another target
    llm.all_degraded(llm_drill(history, tmp_path, other_fault_s=10), NETWORK)


def test_no_failed_request_step_fails(tmp_path):
    drill = drill_with(lookup_history(True, None, True), tmp_path)
    with pytest.raises(CheckFailed, match=r"SLA check fail.*threshold 100 %"):
        measure.no_request_failed(drill, "/lookup")


class BreakerService:
    """The service as far as the breaker step sees it."""

    def __init__(self, transitions):
        self.transitions = transitions

    def llm_breaker(self):
        return {"state": "closed", "transitions": self.transitions}


def test_breaker_step_fails_when_it_opened_late_or_never(tmp_path):
    late = BreakerService([{"from": "closed", "to": "open", "at": T0 + 12, "reason": "x"}])
    with pytest.raises(CheckFailed, match=r"breaker opened check fail.*threshold 10 s"):
        llm.breaker_opened(llm_drill(History(), tmp_path), late, NETWORK, 10, "seconds")
    never = llm_drill(History(), tmp_path)
    with pytest.raises(CheckFailed, match=r"breaker opened: never completed.*measured never"):
        llm.breaker_opened(never, BreakerService([]), NETWORK, 10, "seconds")
    result = never.results[-1]
    assert result.verdict == "fail" and not result.passed and result.shown == "never completed"
    early = BreakerService([{"from": "closed", "to": "open", "at": T0 + 2, "reason": "x"}])
    llm.breaker_opened(llm_drill(History(), tmp_path), early, NETWORK, 10, "seconds")
    # timed from the llm link's fault, not from an earlier fault on something else
    after_other = llm_drill(History(), tmp_path, other_fault_s=60)
    llm.breaker_opened(after_other, early, NETWORK, 10, "seconds")


def test_breaker_step_without_a_fault_on_the_llm_link_says_what_is_missing(tmp_path):
    drill = drill_with(History(), tmp_path)  # a fault, but on another target
    with pytest.raises(MissingStep, match=r"no fault on the llm link"):
        llm.breaker_opened(drill, BreakerService([]), NETWORK, 10, "seconds")


def test_breaker_is_read_once_for_every_then(tmp_path):
    service = BreakerService([{"from": "closed", "to": "open", "at": T0 + 2, "reason": "x"}])
    drill = llm_drill(History(), tmp_path)
    llm.breaker_opened(drill, service, NETWORK, 10, "seconds")
    service.transitions = []  # the live breaker's record changes after the first reading
    llm.breaker_opened(drill, service, NETWORK, 10, "seconds")


def test_full_answers_step_fails_when_they_do_not_come_back(tmp_path):
    history = lookup_history(True, True, True, True)
    restore_at(history, T0 + 0.1, target=LLM_LINK)
    drill = llm_drill(history, tmp_path)
    with pytest.raises(CheckFailed, match=r"full answers back: never completed"):
        llm.full_answers_back(drill, NETWORK, 30, "seconds")


def test_full_answers_are_timed_from_the_llm_links_restore(tmp_path):
    history = lookup_history(True, True, False, False)
    restore_at(history, T0 + 0.15, target=LLM_LINK)
    restore_at(history, T0 + 0.35, target="postgres az-a")  # a later restore of another target
    drill = llm_drill(history, tmp_path, other_fault_s=10)
    llm.full_answers_back(drill, NETWORK, 30, "seconds")
    result = drill.results[-1]
    assert result.figure == pytest.approx(0.05)  # from T0 + 0.15 to the answer at T0 + 0.2
    with pytest.raises(MissingStep, match=r"never restored"):
        llm.full_answers_back(llm_drill(History(), tmp_path), NETWORK, 30, "seconds")
