"""Every assertion step of the export chain fails, naming figure, threshold and evidence, when
what it reads breaks the plan's threshold (and passes when it does not)."""

from __future__ import annotations

from pathlib import Path

import pytest

from drillbook.checks.crr import ObjectState
from drillbook.checks.exports import ExportRecord
from drillbook.drill import Drill
from drillbook.workload import History, Op
from steps import exports

T0 = 1_700_000_000.0

pytestmark = pytest.mark.filterwarnings("ignore:.*not added to the Allure report")


def drill_with(tmp_path: Path, *latencies: float, **facts) -> Drill:
    """A drill whose history holds a successful POST /exports, task t<n>, per latency."""
    history = History()
    for n, latency in enumerate(latencies):
        start = T0 + n / 10
        history.record(Op(exports.EXPORTS, "POST /exports", start, start + latency, "ok", f"t{n}"))
    drill = Drill("s", Path("x.feature"), 1, set(), tmp_path, history=history)
    drill.t0 = T0
    drill.facts.update(facts)
    return drill


def record(task: str, completed_at: float | None = T0 + 5, **kwargs) -> ExportRecord:
    fields = {"completing_attempts": 1, "versions": 1, "sha256": f"h-{task}"} | kwargs
    return ExportRecord(task, completed_at, object_key=f"exports/u/{task}.jsonl", **fields)


def use_records(monkeypatch, records: list[ExportRecord]) -> None:
    by_task = {r.task_id: r for r in records}
    monkeypatch.setattr(exports, "export_records", lambda _env: by_task)


class Store:
    def __init__(self, region: str) -> None:
        self.region = region

    def client(self) -> str:
        return self.region


def use_buckets(monkeypatch, by_region: dict[str, dict[str, ObjectState]]) -> None:
    """What latest_objects reads in each region (a fake store's client is its region)."""
    monkeypatch.setattr(exports, "store_in", lambda _env, region: Store(region))
    monkeypatch.setattr(exports, "latest_objects", lambda client, *_: by_region[client])


def test_answered_within_step_fails_on_a_slow_post(tmp_path):
    with pytest.raises(
        AssertionError, match=r"max latency /exports check failed.*threshold 5 s"
    ) as err:
        exports.answered_in_time(drill_with(tmp_path, 0.02, 6.5), "/exports", 5, "seconds")
    assert "measured 6.500 s" in str(err.value) and str(tmp_path) in str(err.value)
    exports.answered_in_time(drill_with(tmp_path, 0.02, 0.3), "/exports", 5, "seconds")


def test_exactly_once_step_fails_on_a_lost_or_twice_written_task(tmp_path, monkeypatch):
    use_records(monkeypatch, [record("t0"), record("t1", completed_at=None)])
    with pytest.raises(AssertionError, match=r"exports lost or done twice check failed.*1 lost"):
        exports.completed_once(drill_with(tmp_path, 0.01, 0.01), None)
    use_records(monkeypatch, [record("t0"), record("t1", versions=2)])
    with pytest.raises(AssertionError, match=r"1 completed or written more than once"):
        exports.completed_once(drill_with(tmp_path, 0.01, 0.01), None)
    use_records(monkeypatch, [record("t0"), record("t1")])
    exports.completed_once(drill_with(tmp_path, 0.01, 0.01), None)


def test_replay_time_step_fails_when_the_replay_is_late_or_unfinished(tmp_path, monkeypatch):
    def replayed_drill() -> Drill:
        drill = drill_with(tmp_path, 0.01, replayed=["t0", "t1"])
        drill.marks["replay start"] = T0
        return drill

    use_records(monkeypatch, [record("t0"), record("t1", completed_at=T0 + 16 * 60)])
    with pytest.raises(AssertionError, match=r"replay completed check failed.*threshold 900 s"):
        exports.replay_time(replayed_drill(), None, 15, "minutes")
    use_records(monkeypatch, [record("t0"), record("t1", completed_at=None)])
    with pytest.raises(AssertionError, match=r"1 of 2 replayed exports never completed"):
        exports.replay_time(replayed_drill(), None, 15, "minutes")
    use_records(monkeypatch, [record("t0"), record("t1")])
    exports.replay_time(replayed_drill(), None, 15, "minutes")


def test_replay_time_step_needs_a_replay(tmp_path):
    with pytest.raises(AssertionError, match="no replay"):
        exports.replay_time(drill_with(tmp_path, 0.01), None, 15, "minutes")


def test_replication_step_fails_on_a_missing_or_different_copy(tmp_path, monkeypatch):
    source = {"a": ObjectState("v1", "h1", "COMPLETED"), "b": ObjectState("v1", "h2", "COMPLETED")}
    use_buckets(monkeypatch, {"src": source, "dst": {"a": ObjectState("v1", "h1", "REPLICA")}})
    with pytest.raises(
        AssertionError, match=r"replicated to dst check failed.*1 of 2 objects.*b: missing"
    ):
        exports.replicated_with_same_content(drill_with(tmp_path), None, "bucket", "src", "dst")
    different = {"a": ObjectState("v1", "h1", "REPLICA"), "b": ObjectState("v1", "x", "REPLICA")}
    use_buckets(monkeypatch, {"src": source, "dst": different})
    with pytest.raises(AssertionError, match=r"content differs"):
        exports.replicated_with_same_content(drill_with(tmp_path), None, "bucket", "src", "dst")
    same = {key: ObjectState("v1", s.sha256, "REPLICA") for key, s in source.items()}
    use_buckets(monkeypatch, {"src": source, "dst": same})
    exports.replicated_with_same_content(drill_with(tmp_path), None, "bucket", "src", "dst")


def test_artifact_step_fails_when_the_dr_copy_differs_from_the_recorded_hash(tmp_path, monkeypatch):
    records = [record("t0"), record("t1")]
    use_records(monkeypatch, records)
    stored = {r.object_key: ObjectState("v1", r.sha256, "REPLICA") for r in records}
    stored[records[1].object_key] = ObjectState("v1", "corrupted", "REPLICA")
    use_buckets(monkeypatch, {"dr": stored})
    with pytest.raises(
        AssertionError,
        match=r"export artifacts wrong in dr check failed.*task t1: .* SHA-256 corrupted",
    ):
        exports.artifacts_in_region(drill_with(tmp_path, 0.01, 0.01), None, "dr")
    stored[records[1].object_key] = ObjectState("v1", records[1].sha256, "REPLICA")
    exports.artifacts_in_region(drill_with(tmp_path, 0.01, 0.01), None, "dr")
