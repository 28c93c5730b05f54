"""The export chain's checks and the replication check, passing and failing."""

from __future__ import annotations

import pytest

from drillbook.checks.crr import replicated, replicated_at_cut
from drillbook.checks.exports import ExportRecord, artifacts_match, exactly_once, replay_completed
from drillbook.checks.latency import answered_within
from drillbook.objects import ObjectState
from drillbook.workload import History, Op

T0 = 1_700_000_000.0
PREFIX = "probe:/exports"


def posts(*answers: tuple[str, float, str | None]) -> History:
    """POST /exports every 0.1 s: (outcome, latency, task id) each."""
    history = History()
    for i, (outcome, latency, task) in enumerate(answers):
        start = T0 + i / 10
        history.record(Op(PREFIX, "POST /exports", start, start + latency, outcome, task))
    return history


def record(task: str, *, done: bool = True, attempts: int = 1, versions: int = 1) -> ExportRecord:
    completed = T0 + 5 if done else None
    return ExportRecord(task, completed, attempts, versions, f"exports/u/{task}.jsonl", f"h-{task}")


def test_answered_within_is_the_slowest_request():
    result = answered_within(posts(("ok", 0.02, "a"), ("ok", 0.3, "b")), PREFIX, 5.0)
    assert result.passed and result.figure == pytest.approx(0.3)


def test_answered_within_fails_on_a_slow_answer_or_no_answer():
    slow = answered_within(posts(("ok", 0.02, "a"), ("ok", 6.0, "b")), PREFIX, 5.0)
    assert not slow.passed and slow.figure == pytest.approx(6.0)
    assert "1 slower than the limit" in slow.explanation
    refused = answered_within(posts(("ok", 0.02, "a"), ("fail", 0.01, None)), PREFIX, 5.0)
    assert not refused.passed and "1 without a successful answer" in refused.explanation


def test_answered_within_without_a_request_is_not_measured():
    result = answered_within(History(), PREFIX, 5.0)
    assert result.verdict == "not measured" and not result.passed and result.figure is None
    assert "no request of probe:/exports* was invoked" in result.explanation


def test_exactly_once_passes_when_every_acknowledged_task_completed_once():
    history = posts(("ok", 0.01, "a"), ("ok", 0.01, "b"), ("info", 10.0, None))
    result = exactly_once(history, PREFIX, {"a": record("a"), "b": record("b")})
    assert result.passed and result.figure == 0


def test_exactly_once_counts_lost_and_twice_done_tasks():
    history = posts(("ok", 0.01, "a"), ("ok", 0.01, "b"), ("ok", 0.01, "c"), ("ok", 0.01, "d"))
    records = {
        "a": record("a"),
        "b": record("b", done=False),
        "c": record("c", versions=2),  # its artifact was written twice
        "d": record("d", attempts=2),  # two deliveries reached completion
    }
    result = exactly_once(history, PREFIX, records)
    assert not result.passed and result.figure == 3
    assert result.details["lost"] == ["b"]
    assert result.details["done_twice_count"] == 2
    assert "1 lost, 2 completed or written more than once" in result.explanation


def test_exactly_once_without_acknowledged_task_is_not_measured():
    result = exactly_once(posts(("fail", 0.01, None)), PREFIX, {})
    assert result.verdict == "not measured" and not result.passed and result.figure is None
    assert "none of the 1 export requests of probe:/exports* was acknowledged" in (
        result.explanation
    )
    nothing = exactly_once(History(), PREFIX, {})
    assert nothing.verdict == "not measured" and not nothing.passed
    assert "no export request of probe:/exports* was recorded" in nothing.explanation


def test_replay_completed_is_the_last_replayed_completion():
    records = {"a": record("a"), "b": record("b")}
    result = replay_completed(T0 + 1, ["a", "b"], records, 15, "minutes")
    assert result.passed and result.figure == pytest.approx(4.0)


def test_replay_completed_fails_when_late_unfinished_or_empty():
    late = {"a": ExportRecord("a", T0 + 1000, 1, 1)}
    assert not replay_completed(T0, ["a"], late, 15, "minutes").passed
    unfinished = replay_completed(T0, ["a", "b"], {"a": record("a")}, 15, "minutes")
    assert unfinished.verdict == "fail" and not unfinished.passed and unfinished.figure is None
    assert unfinished.shown == "never completed"
    assert "1 of 2 replayed exports never completed" in unfinished.explanation
    empty = replay_completed(T0, [], {}, 15, "minutes")
    assert empty.verdict == "not measured" and not empty.passed and empty.figure is None
    assert "no failed or interrupted task" in empty.explanation


def state(sha: str, status: str | None, version: str = "v1") -> ObjectState:
    return ObjectState(version, sha, status)


def test_replicated_passes_with_same_version_content_and_statuses():
    source = {"k1": state("h1", "COMPLETED"), "k2": state("h2", "COMPLETED")}
    target = {"k1": state("h1", "REPLICA"), "k2": state("h2", "REPLICA")}
    result = replicated("b", ("src", source), ("dst", target))
    assert result.passed and result.figure == 0


@pytest.mark.parametrize(
    ("source", "target", "problem"),
    [
        (state("h", "COMPLETED"), None, "missing in the target region"),
        (state("h", "COMPLETED"), state("x", "REPLICA"), "content differs"),
        (state("h", "COMPLETED", "v2"), state("h", "REPLICA", "v1"), "target holds version v1"),
        (state("h", "PENDING"), state("h", "REPLICA"), "source reports replication status"),
        (state("h", "COMPLETED"), state("h", None), "target reports replication status None"),
        # written in the target region and replicated back: the target must say COMPLETED
        (state("h", "REPLICA"), state("h", "PENDING"), "target reports replication status"),
    ],
)
def test_replicated_fails_on_each_kind_of_problem(source, target, problem):
    result = replicated("b", ("src", {"k": source}), ("dst", {"k": target} if target else {}))
    assert not result.passed and result.figure == 1
    assert problem in result.explanation


def test_an_object_the_target_region_wrote_and_replicated_back_is_replicated():
    source = {"k1": state("h1", "COMPLETED"), "k2": state("h2", "REPLICA")}
    target = {"k1": state("h1", "REPLICA"), "k2": state("h2", "COMPLETED")}
    assert replicated("b", ("src", source), ("dst", target)).passed


CUT = 1_000.0


def written(sha: str, status: str | None, at: float) -> ObjectState:
    return ObjectState("v1", sha, status, written_at=at)


def test_at_the_cut_an_object_not_yet_replicated_within_the_lag_was_in_flight():
    source = {
        "old": written("h1", "COMPLETED", CUT - 5),
        "racing": written("h2", "PENDING", CUT - 0.3),
        "after": written("h3", None, CUT + 1),
    }
    target = {"old": written("h1", "REPLICA", CUT - 5)}
    result = replicated_at_cut("b", ("src", source), ("dst", target), CUT, lag_limit_s=60)
    assert result.passed and result.figure == 0
    assert result.details["objects"] == 2 and result.details["after_cut"] == 1
    assert "racing" in result.details["in_flight"]
    assert "1 of 2 objects" in result.explanation and "1 written after it" in result.explanation


@pytest.mark.parametrize(
    ("state_at_source", "why"),
    [
        # older than the CRR lag at the cut: CRR was late, not the cut
        (written("h", "PENDING", CUT - 61), "missing in the target region"),
        # the source said it was replicated: the target must hold it
        (written("h", "COMPLETED", CUT - 0.3), "missing in the target region"),
    ],
)
def test_at_the_cut_an_object_late_or_claimed_replicated_fails(state_at_source, why):
    source = {"k": state_at_source}
    result = replicated_at_cut("b", ("src", source), ("dst", {}), CUT, lag_limit_s=60)
    assert not result.passed and result.figure == 1
    assert why in result.explanation


def test_at_the_cut_a_source_that_held_nothing_yet_is_not_measured():
    source = {"after": written("h", None, CUT + 1)}
    result = replicated_at_cut("b", ("src", source), ("dst", {}), CUT, lag_limit_s=60)
    assert not result.passed and not result.measured
    assert "held no object" in result.explanation


def test_replicated_of_an_empty_bucket_is_not_measured():
    result = replicated("b", ("src", {}), ("dst", {}))
    assert result.verdict == "not measured" and not result.passed and result.figure is None
    assert result.explanation.endswith("not measured: b holds no object in src")


def test_artifacts_match_compares_with_the_recorded_hash():
    history = posts(("ok", 0.01, "a"), ("ok", 0.01, "b"))
    records = {"a": record("a"), "b": record("b")}
    stored = {r.object_key: state(r.sha256, "REPLICA") for r in records.values()}
    assert artifacts_match(history, PREFIX, records, "dr", stored).passed
    stored[records["b"].object_key] = state("tampered", "REPLICA")
    del stored[records["a"].object_key]
    result = artifacts_match(history, PREFIX, records, "dr", stored)
    assert not result.passed and result.figure == 2
    assert "0 of 2 completed exports" in result.explanation


def test_artifacts_match_without_a_completed_export_is_not_measured():
    history = posts(("ok", 0.01, "a"))
    result = artifacts_match(history, PREFIX, {"a": record("a", done=False)}, "dr", {})
    assert result.verdict == "not measured" and not result.passed and result.figure is None
    assert "none of the 1 acknowledged exports was completed" in result.explanation
    nothing = artifacts_match(History(), PREFIX, {}, "dr", {})
    assert nothing.verdict == "not measured" and not nothing.passed
    assert "no export request of probe:/exports* was acknowledged" in nothing.explanation


def test_at_the_cut_objects_all_in_flight_verify_nothing():
    source = {"racing": written("h", "PENDING", CUT - 0.3)}
    result = replicated_at_cut("b", ("src", source), ("dst", {}), CUT, lag_limit_s=60)
    assert not result.passed and not result.measured
    assert "all in flight (racing: missing in the target region" in result.explanation
